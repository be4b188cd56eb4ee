package benchkit

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/ecommerce-go/ecommerce/internal/mongowire"
)

// servers are the parts of the machine's servers one measurement uses (see Servers).
type servers struct {
	mongoURL, rabbitURL, redisURL, redisPrefix string
	stop                                       func()
	analyze                                    func(context.Context) error
}

// Where the machine's servers are, as the test command expects them (README): PostgreSQL for
// FerretDB, RabbitMQ and Redis on their usual loopback ports. The variables override them.
func serverURL(variable, def string) string {
	if v := os.Getenv(variable); v != "" {
		return v
	}
	return def
}

// startServers makes a PostgreSQL database, a RabbitMQ virtual host and a Redis key prefix of
// their own for one run, and starts FerretDB on the database.
func startServers(ctx context.Context) (*servers, error) {
	name := "bench_" + strings.ReplaceAll(uuid.NewString()[:13], "-", "")
	pg, err := url.Parse(serverURL("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
	if err != nil {
		return nil, fmt.Errorf("BENCH_POSTGRES_URL: %w", err)
	}
	rabbit, err := url.Parse(serverURL("BENCH_RABBIT_URL", "amqp://guest:guest@127.0.0.1:5672/"))
	if err != nil {
		return nil, fmt.Errorf("BENCH_RABBIT_URL: %w", err)
	}
	s := &servers{redisURL: serverURL("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"), redisPrefix: name + ":image:"}
	var undo []func()
	s.stop = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	fail := func(err error) (*servers, error) {
		s.stop()
		return nil, err
	}

	admin := pg.String()
	if err := run(ctx, "psql", admin, "-qc", "CREATE DATABASE "+name); err != nil {
		return fail(err)
	}
	undo = append(undo, func() {
		if err := run(context.Background(), "psql", admin, "-qc", "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintln(os.Stderr, "benchkit:", err)
		}
	})
	pg.Path = "/" + name
	db := pg.String()
	s.analyze = func(ctx context.Context) error { return run(ctx, "psql", db, "-qc", "ANALYZE") }
	mongoCtx, stopMongo := context.WithCancel(context.WithoutCancel(ctx))
	addr := FreeAddr()
	srv, err := mongowire.Start(mongoCtx, mongowire.Options{Addr: addr, PostgresURL: pg.String()})
	if err != nil {
		stopMongo()
		return fail(err)
	}
	undo = append(undo, func() {
		stopMongo()
		select {
		case <-srv.Done():
		case <-time.After(10 * time.Second):
		}
	})
	s.mongoURL = srv.URI

	user := rabbit.User.Username()
	if err := run(ctx, "rabbitmqctl", "-q", "add_vhost", name); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { _ = run(context.Background(), "rabbitmqctl", "-q", "delete_vhost", name) })
	if err := run(ctx, "rabbitmqctl", "-q", "set_permissions", "-p", name, user, ".*", ".*", ".*"); err != nil {
		return fail(err)
	}
	rabbit.Path = "/" + name
	s.rabbitURL = rabbit.String()

	opts, err := redis.ParseURL(s.redisURL)
	if err != nil {
		return fail(fmt.Errorf("BENCH_REDIS_URL: %w", err))
	}
	undo = append(undo, func() { deleteKeys(opts, s.redisPrefix) })
	return s, nil
}

// deleteKeys deletes the Redis keys under prefix.
func deleteKeys(opts *redis.Options, prefix string) {
	client := redis.NewClient(opts)
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		client.Del(ctx, iter.Val())
	}
}

func run(ctx context.Context, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return nil
}
