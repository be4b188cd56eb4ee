package mongowire

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithPoolLimit(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://postgres@127.0.0.1:5432/db":                   "postgres://postgres@127.0.0.1:5432/db?pool_max_conns=40",
		"postgres://postgres@127.0.0.1:5432/db?sslmode=disable":   "postgres://postgres@127.0.0.1:5432/db?pool_max_conns=40&sslmode=disable",
		"postgres://postgres@127.0.0.1:5432/db?pool_max_conns=80": "postgres://postgres@127.0.0.1:5432/db?pool_max_conns=80",
	} {
		got, err := withPoolLimit(in)
		require.NoError(t, err)
		assert.Equal(t, want, got, in)
	}
	_, err := withPoolLimit("postgres://[::1")
	assert.Error(t, err)
}

func TestQuietDuplicates(t *testing.T) {
	var out bytes.Buffer
	log := slog.New(quietDuplicates{slog.NewTextHandler(&out, nil)})
	log.Error("Query", "err", errors.New(`ERROR: duplicate key value violates unique constraint "x" (SQLSTATE 23505)`))
	assert.Empty(t, out.String(), "a unique-index violation is an expected answer")
	log.With("name", "postgresql").Error("Query", "err", errors.New("ERROR: too many connections (SQLSTATE 53300)"))
	assert.Contains(t, out.String(), "SQLSTATE 53300")
	assert.Contains(t, out.String(), "name=postgresql")
}
