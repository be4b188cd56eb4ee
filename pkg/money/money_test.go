package money_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/money"
)

func TestCentsJSON(t *testing.T) {
	for _, tc := range []struct {
		cents money.Cents
		text  string
	}{{1250, "12.5"}, {1200, "12"}, {5, "0.05"}, {0, "0"}, {-150, "-1.5"}, {199, "1.99"}} {
		b, err := json.Marshal(tc.cents)
		require.NoError(t, err)
		assert.Equal(t, tc.text, string(b))
		var back money.Cents
		require.NoError(t, json.Unmarshal(b, &back))
		assert.Equal(t, tc.cents, back)
	}
}

func TestNumberCents(t *testing.T) {
	for text, want := range map[string]money.Cents{
		"24.5": 2450, "24.50": 2450, "0.1": 10, "19.99": 1999, "1e2": 10000, "2.5E1": 2500, "0": 0, "-3": -300,
	} {
		got, err := money.Number(text).Cents()
		require.NoError(t, err, text)
		assert.Equal(t, want, got, text)
	}
	for text, want := range map[string]error{
		"12.345": money.ErrPrecision, "0.001": money.ErrPrecision, "1e-3": money.ErrPrecision,
		"1e999999999": money.ErrOutOfRange, "99999999999999999999": money.ErrTooLarge,
	} {
		_, err := money.Number(text).Cents()
		assert.ErrorIs(t, err, want, text)
	}
}

func TestCentsRejectsNonNumbers(t *testing.T) {
	var body struct {
		Price money.Cents `json:"price"`
	}
	var typeErr *json.UnmarshalTypeError
	require.ErrorAs(t, json.Unmarshal([]byte(`{"price":"12"}`), &body), &typeErr)
	assert.Error(t, json.Unmarshal([]byte(`{"price":12.345}`), &body))
	require.NoError(t, json.Unmarshal([]byte(`{"price":24.5}`), &body))
	assert.Equal(t, money.Cents(2450), body.Price)
}

func TestNumberWhole(t *testing.T) {
	n, err := money.Number("5e0").Whole(0, 10)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)
	_, err = money.Number("5.5").Whole(0, 10)
	assert.EqualError(t, err, "must be a whole number")
	_, err = money.Number("-1").Whole(0, 10)
	assert.EqualError(t, err, "must be at least 0")
	_, err = money.Number("11").Whole(0, 10)
	assert.EqualError(t, err, "must be at most 10")
}
