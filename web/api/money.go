package api

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is an amount in cents. The services send and take it as a JSON decimal number (24.5).
type Money int64

// ParseMoney reads a decimal amount typed by a person: "24.5", "24,50" or "1 024.00".
func ParseMoney(text string) (Money, error) {
	t := strings.ReplaceAll(strings.TrimSpace(text), " ", "")
	t = strings.ReplaceAll(t, ",", ".")
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e12 {
		return 0, fmt.Errorf("not an amount: %q", text)
	}
	return Money(math.Round(f * 100)), nil
}

// UnmarshalJSON reads a decimal number.
func (m *Money) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*m = Money(math.Round(f * 100))
	return nil
}

// MarshalJSON writes a decimal number with at most two decimals.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(m.Decimal()), nil }

// Decimal is the amount as "24.50".
func (m Money) Decimal() string {
	sign := ""
	if m < 0 {
		sign, m = "-", -m
	}
	return fmt.Sprintf("%s%d.%02d", sign, m/100, m%100)
}
