package mongowire

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// The PostgreSQL backend gets an index that answers FerretDB's lookups by _id (idindex.go):
// the plan of FerretDB's query for {_id: …} uses it.
func TestPostgresIDLookupsIndexed(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := os.Getenv("POSTGRES_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/postgres"
	}
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		if os.Getenv("TEST_REQUIRE_SERVERS") == "1" {
			t.Fatalf("PostgreSQL at %s: %v", admin, err)
		}
		t.Skipf("PostgreSQL at %s does not answer: %v", admin, err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("mongowire_probe_%d", time.Now().UnixNano())
	_, err = conn.Exec(ctx, "CREATE DATABASE "+name)
	require.NoError(t, err)
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(admin)
	require.NoError(t, err)
	u.Path = "/" + name

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	srvCtx, stop := context.WithCancel(ctx)
	srv, err := Start(srvCtx, Options{Addr: addr, PostgresURL: u.String()})
	require.NoError(t, err)
	t.Cleanup(func() { stop(); <-srv.Done() })
	client, err := mongox.Connect(ctx, srv.URI)
	require.NoError(t, err)
	defer client.Disconnect(ctx)
	_, err = client.Database("probe").Collection("docs").InsertOne(ctx, bson.M{"_id": "a/1", "n": 1})
	require.NoError(t, err)

	db, err := pgx.Connect(ctx, u.String())
	require.NoError(t, err)
	defer db.Close(ctx)
	var table string
	require.Eventually(t, func() bool {
		err := db.QueryRow(ctx, `SELECT tablename FROM pg_indexes WHERE schemaname = 'probe' AND indexname LIKE '%\_id\_lookup'`).Scan(&table)
		return err == nil
	}, 30*time.Second, 100*time.Millisecond, "the _id lookup index is added within the indexing interval")
	_, err = db.Exec(ctx, "SET enable_seqscan = off") // a one-row table: show whether the index can answer at all
	require.NoError(t, err)
	rows, err := db.Query(ctx, fmt.Sprintf(`EXPLAIN SELECT _jsonb FROM %s WHERE _jsonb->'_id' @> '"a/1"'`,
		pgx.Identifier{"probe", table}.Sanitize()))
	require.NoError(t, err)
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	assert.Contains(t, strings.Join(plan, "\n"), "_id_lookup", "FerretDB's lookup by _id is answered from the index")
}
