package money_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/money"
)

// Amounts as people type them: each notation reads its own way of writing, and refuses what
// it could only misread (another notation's decimal separator, a misplaced thousands
// separator) or would have to round.
func TestNotationParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    money.Notation
		text string
		want money.Cents
		err  error
	}{
		{"en grouped", money.English, "1,234.50", 123450, nil},
		{"en plain", money.English, "1234.50", 123450, nil},
		{"en one decimal", money.English, "24.5", 2450, nil},
		{"en whole", money.English, "24", 2400, nil},
		{"en thousands, no decimals", money.English, "1,000", 100000, nil},
		{"en millions", money.English, "1,234,567.89", 123456789, nil},
		{"en space groups", money.English, "1 234.50", 123450, nil},
		{"en no-break space groups", money.English, "1\u00a0234.50", 123450, nil},
		{"en leading decimal", money.English, ".5", 50, nil},
		{"en euro sign", money.English, "€12.50", 1250, nil},
		{"en spaces around", money.English, "  12.50 ", 1250, nil},
		{"en zero", money.English, "0", 0, nil},
		{"en negative", money.English, "-3.05", -305, nil},
		{"en three decimals", money.English, "12.345", 0, money.ErrPrecision},
		{"en three decimals after groups", money.English, "1,000.001", 0, money.ErrPrecision},
		{"en decimal comma", money.English, "12,34", 0, money.ErrNotAmount},
		{"en decimal comma, 1 digit", money.English, "12,5", 0, money.ErrNotAmount},
		{"en spanish grouping", money.English, "1.234,50", 0, money.ErrNotAmount},
		{"en group of 4", money.English, "1,2345", 0, money.ErrNotAmount},
		{"en group of 2 inside", money.English, "1,23,456", 0, money.ErrNotAmount},
		{"en first group of 4", money.English, "1234,567", 0, money.ErrNotAmount},
		{"en group after decimal", money.English, "1.234,567", 0, money.ErrNotAmount},
		{"en two decimal points", money.English, "1.2.3", 0, money.ErrNotAmount},
		{"en trailing point", money.English, "12.", 0, money.ErrNotAmount},
		{"en leading comma", money.English, ",500", 0, money.ErrNotAmount},
		{"en mixed separators", money.English, "1 234,567.00", 0, money.ErrNotAmount},
		{"en empty", money.English, "", 0, money.ErrNotAmount},
		{"en blank", money.English, "   ", 0, money.ErrNotAmount},
		{"en minus alone", money.English, "-", 0, money.ErrNotAmount},
		{"en words", money.English, "twelve", 0, money.ErrNotAmount},
		{"en exponent", money.English, "1e3", 0, money.ErrNotAmount},
		{"en NaN", money.English, "NaN", 0, money.ErrNotAmount},
		{"en plus sign", money.English, "+5", 0, money.ErrNotAmount},
		{"en other digits", money.English, "١٢", 0, money.ErrNotAmount},
		{"en too large", money.English, "99999999999999999999", 0, money.ErrTooLarge},
		{"en too long", money.English, "1" + string(make([]byte, 70)), 0, money.ErrNotAmount},

		{"es grouped", money.Spanish, "1.234,50", 123450, nil},
		{"es plain", money.Spanish, "1234,50", 123450, nil},
		{"es one decimal", money.Spanish, "24,5", 2450, nil},
		{"es thousands", money.Spanish, "1.000", 100000, nil},
		{"es twelve thousand", money.Spanish, "12.345", 1234500, nil},
		{"es millions", money.Spanish, "1.234.567,89", 123456789, nil},
		{"es space groups", money.Spanish, "1 234,50", 123450, nil},
		{"es euro after", money.Spanish, "12,50 €", 1250, nil},
		{"es leading decimal", money.Spanish, ",5", 50, nil},
		{"es three decimals", money.Spanish, "1,000", 0, money.ErrPrecision},
		{"es three decimals 12,345", money.Spanish, "12,345", 0, money.ErrPrecision},
		{"es decimal point", money.Spanish, "12.50", 0, money.ErrNotAmount},
		{"es decimal point, 1 digit", money.Spanish, "1.5", 0, money.ErrNotAmount},
		{"es english grouping", money.Spanish, "1,234.50", 0, money.ErrNotAmount},
		{"es group of 4", money.Spanish, "1.2345", 0, money.ErrNotAmount},
		{"es two decimal commas", money.Spanish, "1,2,3", 0, money.ErrNotAmount},
		{"es trailing comma", money.Spanish, "12,", 0, money.ErrNotAmount},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.n.Parse(tc.text)
			if tc.err != nil {
				assert.ErrorIs(t, err, tc.err, "%q", tc.text)
				return
			}
			require.NoError(t, err, "%q", tc.text)
			assert.Equal(t, tc.want, got, "%q", tc.text)
		})
	}
}

func TestNotationFormat(t *testing.T) {
	for _, tc := range []struct {
		c                        money.Cents
		en, es, enPlain, esPlain string
	}{
		{0, "0.00", "0,00", "0.00", "0,00"},
		{5, "0.05", "0,05", "0.05", "0,05"},
		{3289, "32.89", "32,89", "32.89", "32,89"},
		{99999, "999.99", "999,99", "999.99", "999,99"},
		{100000, "1,000.00", "1.000,00", "1000.00", "1000,00"},
		{123456789, "1,234,567.89", "1.234.567,89", "1234567.89", "1234567,89"},
		{-123450, "-1,234.50", "-1.234,50", "-1234.50", "-1234,50"},
		{math.MinInt64, "-92,233,720,368,547,758.08", "-92.233.720.368.547.758,08", "-92233720368547758.08", "-92233720368547758,08"},
	} {
		assert.Equal(t, tc.en, money.English.Format(tc.c))
		assert.Equal(t, tc.es, money.Spanish.Format(tc.c))
		assert.Equal(t, tc.enPlain, money.English.FormatPlain(tc.c))
		assert.Equal(t, tc.esPlain, money.Spanish.FormatPlain(tc.c))
	}
}

// What Format and FormatPlain write, Parse reads back to the same amount.
func TestNotationRoundTrip(t *testing.T) {
	for _, n := range []money.Notation{money.English, money.Spanish} {
		for _, c := range []money.Cents{0, 1, 10, 99, 100, 1000, 99999, 100000, 123456, 100000000, 123456789012} {
			for _, text := range []string{n.Format(c), n.FormatPlain(c)} {
				got, err := n.Parse(text)
				require.NoError(t, err, text)
				assert.Equal(t, c, got, text)
			}
		}
	}
}
