// Package mongowire runs FerretDB, a MongoDB-wire server written in Go, inside this process: on
// SQLite files for the all-in-one run (nothing to install), or on PostgreSQL for the test command.
// FerretDB's own binary cannot be used here (see docs/mongo-wire.md): it is embedded instead.
package mongowire

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Options says where the server listens and which backend keeps its data.
type Options struct {
	Addr        string // loopback address, e.g. 127.0.0.1:37017
	SQLiteDir   string // SQLite backend: one file per database in this folder
	PostgresURL string // PostgreSQL backend, used when set
	Logger      *slog.Logger
}

// sqlitePragmas are the settings of every SQLite connection, in the order they are applied
// (FerretDB adds auto_vacuum(none) after them). They are FerretDB's own defaults plus
// synchronous(normal): in WAL mode a commit then writes the WAL without waiting for the disk
// (fsync happens at checkpoints), which SQLite documents as safe against corruption; a power
// cut (not a crash of the process) may lose the last commits. That is the usual setting for
// WAL, and it shortens every write transaction, during which all other writers of the file
// wait (SQLite has one writer at a time per file, and its waiting writers sleep and retry).
const sqlitePragmas = "_pragma=busy_timeout(10000)&_pragma=journal_mode(wal)&_pragma=synchronous(normal)"

// Server is a running FerretDB.
type Server struct {
	URI  string
	done chan struct{}
}

// Start runs FerretDB until ctx is done and returns once it accepts connections.
func Start(ctx context.Context, opts Options) (*Server, error) {
	cfg := &ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: opts.Addr},
		Logger:   opts.Logger,
	}
	if cfg.Logger == nil {
		// FerretDB is chatty at info level; its warnings and errors are enough here.
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	cfg.Logger = slog.New(quietDuplicates{cfg.Logger.Handler()})
	switch {
	case opts.PostgresURL != "":
		pgURL, err := withPoolLimit(opts.PostgresURL)
		if err != nil {
			return nil, err
		}
		cfg.Handler, cfg.PostgreSQLURL = "postgresql", pgURL
	case opts.SQLiteDir != "":
		if err := os.MkdirAll(opts.SQLiteDir, 0o755); err != nil {
			return nil, err
		}
		cfg.Handler, cfg.SQLiteURL = "sqlite", "file:"+opts.SQLiteDir+"/?"+sqlitePragmas
	default:
		return nil, errors.New("mongowire: set SQLiteDir or PostgresURL")
	}
	f, err := ferretdb.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("mongowire: %w", err)
	}
	s := &Server{URI: f.MongoDBURI(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		_ = f.Run(ctx)
	}()
	if err := waitListening(ctx, opts.Addr); err != nil {
		return nil, err
	}
	// FerretDB's own _id indexes answer none of its lookups by _id (idindex.go): add ones that do.
	logIndexErr := func(err error) { cfg.Logger.Warn("mongowire: _id lookups not indexed", "err", err) }
	if opts.PostgresURL == "" {
		go keepIndexed(ctx, 10*time.Second, func(ctx context.Context) error { return indexIDLookups(ctx, opts.SQLiteDir) }, logIndexErr)
	} else {
		pool, err := indexingPool(ctx, opts.PostgresURL)
		if err != nil {
			return nil, err
		}
		go func() {
			defer pool.Close()
			keepIndexed(ctx, 10*time.Second, func(ctx context.Context) error { return indexPostgresIDLookups(ctx, pool) }, logIndexErr)
		}()
	}
	return s, nil
}

// poolLimit is how many PostgreSQL connections one server opens at most, unless the URL says
// (pool_max_conns). FerretDB's own default is 50: two busy servers, as a fault test runs beside
// the test command's, would take all of a default PostgreSQL's 100.
const poolLimit = "40"

func withPoolLimit(pgURL string) (string, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", fmt.Errorf("mongowire: PostgreSQL URL: %w", err)
	}
	q := u.Query()
	if !q.Has("pool_max_conns") {
		q.Set("pool_max_conns", poolLimit)
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// indexingPool is the one PostgreSQL connection that adds the _id lookup indexes. It waits at
// most 200 ms for a table's lock: the writes to a table queue behind a CREATE INDEX waiting for
// its lock, and the index can as well be added at the next pass.
func indexingPool(ctx context.Context, pgURL string) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(pgURL)
	if err != nil {
		return nil, fmt.Errorf("mongowire: PostgreSQL URL: %w", err)
	}
	cfg.MaxConns = 1
	cfg.ConnConfig.RuntimeParams["lock_timeout"] = "200ms"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("mongowire: %w", err)
	}
	return pool, nil
}

// quietDuplicates drops FerretDB's error logs of unique-index violations: the services rest
// every "only once" rule on them, so they are expected answers, not errors of the server.
type quietDuplicates struct{ slog.Handler }

func (h quietDuplicates) Handle(ctx context.Context, r slog.Record) error {
	duplicate := false
	r.Attrs(func(a slog.Attr) bool {
		duplicate = a.Key == "err" && strings.Contains(a.Value.String(), "SQLSTATE 23505")
		return !duplicate
	})
	if duplicate {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietDuplicates) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietDuplicates{h.Handler.WithAttrs(attrs)}
}

func (h quietDuplicates) WithGroup(name string) slog.Handler {
	return quietDuplicates{h.Handler.WithGroup(name)}
}

// Done is closed once the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }

func waitListening(ctx context.Context, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("mongowire: not listening on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
