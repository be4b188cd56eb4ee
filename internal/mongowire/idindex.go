package mongowire

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "modernc.org/sqlite" // the SQLite driver FerretDB itself uses
)

// FerretDB v1.24.2 on SQLite turns a {_id: …} filter into `WHERE _ferretdb_sjson->'$._id' = ?`,
// but indexes _id as `_ferretdb_sjson->"_id"`: SQLite only uses an index whose expression is
// written the same way, so every lookup by _id reads the table until it finds the document (a
// miss reads all of it). Measured at 10,000 documents: 0.5 ms for the first document inserted,
// 170 ms for the last one or a miss. indexIDLookups adds, to every collection table of the
// folder, an index on the very expression FerretDB queries. FerretDB does not know of it (it is
// not in its metadata) and SQLite drops it with its table.
func indexIDLookups(ctx context.Context, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return err
	}
	for _, file := range files {
		if err := indexFile(ctx, file); err != nil {
			return err
		}
	}
	return nil
}

func indexFile(ctx context.Context, file string) error {
	db, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	// Only the tables without the index: CREATE INDEX IF NOT EXISTS would take the file's one
	// write lock for every table at every pass.
	rows, err := db.QueryContext(ctx, `SELECT t.name FROM sqlite_master t WHERE t.type = 'table'
		AND t.name NOT LIKE 'sqlite_%' AND t.name NOT LIKE '_ferretdb_%'
		AND NOT EXISTS (SELECT 1 FROM sqlite_master i WHERE i.type = 'index' AND i.name = t.name || '_id_lookup')`)
	if err != nil {
		return fmt.Errorf("tables of %s: %w", file, err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, name)
	}
	rows.Close()
	for _, t := range tables {
		stmt := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (_ferretdb_sjson->'$._id')`, t+"_id_lookup", t)
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("index %s of %s: %w", t, file, err)
		}
	}
	return nil
}

// FerretDB v1.24.2 on PostgreSQL turns a {_id: …} filter into `WHERE _jsonb->$1 @> $2`, but
// indexes _id with a btree on `_jsonb->'_id'`, which cannot answer the containment operator
// `@>`: every lookup by _id reads the whole table (measured at 20,000 documents: 6 ms a lookup,
// 0.03 ms with an index that can). indexPostgresIDLookups adds, to every collection table, a
// GIN index on `_jsonb->'_id'`, which answers `@>`. FerretDB does not know of it (it is not in
// its metadata) and PostgreSQL drops it with its table. Without fastupdate: a lookup would
// otherwise read the whole list of entries not yet merged, which a bulk load makes long.
func indexPostgresIDLookups(ctx context.Context, pool *pgxpool.Pool) error {
	// Only the tables without the index (PostgreSQL cuts its name to 63 bytes): CREATE INDEX IF
	// NOT EXISTS would lock every table against writes at every pass.
	rows, err := pool.Query(ctx, `SELECT n.nspname, c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
		AND n.nspname NOT LIKE 'pg\_%' AND c.relname NOT LIKE '\_ferretdb\_%'
		AND NOT EXISTS (SELECT 1 FROM pg_class i WHERE i.relnamespace = c.relnamespace
			AND i.relkind = 'i' AND i.relname = left(c.relname || '_id_lookup', 63))`)
	if err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	type table struct{ schema, name string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.schema, &t.name)
	})
	if err != nil {
		return fmt.Errorf("tables: %w", err)
	}
	for _, t := range tables {
		stmt := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %s ON %s USING gin ((_jsonb->'_id')) WITH (fastupdate = off)`,
			pgx.Identifier{t.name + "_id_lookup"}.Sanitize(), pgx.Identifier{t.schema, t.name}.Sanitize())
		if _, err := pool.Exec(ctx, stmt); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == pgerrcode.LockNotAvailable {
				continue // the table is busy (lock_timeout, see indexingPool): the next pass
			}
			return fmt.Errorf("index %s.%s: %w", t.schema, t.name, err)
		}
	}
	return nil
}

// keepIndexed runs index now and every interval until ctx is done (collections are made as
// services first write to them). Failures are logged and tried again.
func keepIndexed(ctx context.Context, interval time.Duration, index func(context.Context) error, log func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := index(ctx); err != nil && ctx.Err() == nil {
			log(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
