package mongowire

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// The SQLite backend takes the connection settings of sqlitePragmas: it stores and finds
// documents, and its files are in WAL mode.
func TestSQLiteBackend(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Start(ctx, Options{Addr: addr, SQLiteDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { cancel(); <-srv.Done() })

	client, err := mongox.Connect(ctx, srv.URI)
	require.NoError(t, err)
	defer client.Disconnect(ctx)
	coll := client.Database("probe").Collection("docs")
	_, err = coll.InsertOne(ctx, bson.M{"_id": "a", "n": 1})
	require.NoError(t, err)
	var got struct{ N int }
	require.NoError(t, coll.FindOne(ctx, bson.M{"_id": "a"}).Decode(&got))
	assert.Equal(t, 1, got.N)

	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "probe.sqlite"))
	require.NoError(t, err)
	defer db.Close()
	var mode string
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
}

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
