package money

import (
	"errors"
	"strconv"
	"strings"
)

// Notation is how a language writes amounts for people: its decimal separator and its
// thousands separator. A space (also a no-break one) is taken as a thousands separator in
// every notation, as people type "1 234,50" too.
type Notation struct {
	Decimal, Group byte
}

// The notations of the shop's languages.
var (
	English = Notation{Decimal: '.', Group: ','} // 1,234.50
	Spanish = Notation{Decimal: ',', Group: '.'} // 1.234,50
)

// ErrNotAmount is a text that is not an amount in the notation, or that could be read in more
// than one way (such as "12,34" in English: a misplaced thousands separator or a decimal comma).
var ErrNotAmount = errors.New("is not an amount")

// maxAmountText bounds the text Parse reads.
const maxAmountText = 64

// Parse reads an amount typed by a person in the notation n: "1,234.50", "1234.5", "1,000",
// "€ 12" in English; "1.234,50", "1234,5", "1.000", "12 €" in Spanish. A thousands separator
// must sit between groups of three digits, and only before the decimal separator. With more
// than two decimals it is ErrPrecision (never rounded); a text that is not an amount, or is
// one only under another notation's reading, is ErrNotAmount; ErrTooLarge past an int64.
func (n Notation) Parse(text string) (Cents, error) {
	if len(text) > maxAmountText {
		return 0, ErrNotAmount
	}
	t := strings.TrimSpace(text)
	t = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(t, "€"), "€"))
	negative := false
	if rest, ok := strings.CutPrefix(t, "-"); ok {
		negative, t = true, rest
	}
	whole, frac, hasDecimal := strings.Cut(t, string(n.Decimal))
	if hasDecimal && (frac == "" || !digitsOnly(frac)) {
		return 0, ErrNotAmount // "12.", "1.2.3", "1.234,5" in English
	}
	if whole == "" && !hasDecimal {
		return 0, ErrNotAmount
	}
	digits, ok := n.ungroup(whole)
	if !ok {
		return 0, ErrNotAmount
	}
	if len(frac) > 2 {
		return 0, ErrPrecision
	}
	frac += strings.Repeat("0", 2-len(frac))
	all := strings.TrimLeft(digits+frac, "0")
	if len(all) > 18 { // an int64 holds every 18-digit number
		return 0, ErrTooLarge
	}
	var c int64
	for _, d := range all {
		c = c*10 + int64(d-'0')
	}
	if negative {
		c = -c
	}
	return Cents(c), nil
}

// ungroup returns the digits of the whole part w, checking its thousands separators: when it
// has any, they are all of one kind (the notation's or spaces) and cut it into a first group
// of 1 to 3 digits followed by groups of exactly 3.
func (n Notation) ungroup(w string) (string, bool) {
	w = strings.NewReplacer("\u00a0", " ", "\u202f", " ").Replace(w)
	if w == "" {
		return "", true // ",50": no whole part
	}
	sep := ""
	switch {
	case strings.ContainsRune(w, rune(n.Group)) && strings.Contains(w, " "):
		return "", false
	case strings.ContainsRune(w, rune(n.Group)):
		sep = string(n.Group)
	case strings.Contains(w, " "):
		sep = " "
	}
	if sep == "" {
		return w, digitsOnly(w)
	}
	groups := strings.Split(w, sep)
	for i, g := range groups {
		if !digitsOnly(g) || len(g) > 3 || (i > 0 && len(g) != 3) {
			return "", false
		}
	}
	return strings.Join(groups, ""), true
}

func digitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Format writes c for people in the notation, with thousands separators and two decimals:
// 123450 is "1,234.50" in English and "1.234,50" in Spanish.
func (n Notation) Format(c Cents) string { return n.format(c, true) }

// FormatPlain writes c as Format does but without thousands separators ("1234,50"), as a form
// field shows an amount to edit.
func (n Notation) FormatPlain(c Cents) string { return n.format(c, false) }

func (n Notation) format(c Cents, grouped bool) string {
	v := uint64(c)
	sign := ""
	if c < 0 {
		sign, v = "-", uint64(-(c+1))+1 // also right for the most negative Cents
	}
	whole := strconv.FormatUint(v/100, 10)
	var b strings.Builder
	b.WriteString(sign)
	for i := range len(whole) {
		if grouped && i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(n.Group)
		}
		b.WriteByte(whole[i])
	}
	b.WriteByte(n.Decimal)
	b.WriteByte(byte('0' + v%100/10))
	b.WriteByte(byte('0' + v%10))
	return b.String()
}
