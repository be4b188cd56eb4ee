// Package benchkit holds what the load and benchmark tools share: starting the all-in-one fleet
// on free loopback ports for a measurement.
package benchkit

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/ecommerce-go/ecommerce/internal/fleet"
)

// Services are the API services of the fleet.
var Services = []string{"auth", "image", "catalog", "cart", "orders"}

// Fleet is an all-in-one fleet started for a measurement.
type Fleet struct {
	URLs     map[string]string // base URL of each service
	Web      string            // base URL of the storefront
	MongoURL string            // the embedded MongoDB-wire server
	Admin    string            // login:password of its admin
	stop     func()
	analyze  func(context.Context) error // refreshes PostgreSQL's planner statistics (servers)
}

// Settle is for after a bulk load: on the servers backend it refreshes PostgreSQL's planner
// statistics, as autovacuum would within a minute or so. Measured before that, PostgreSQL
// still plans for the tiny tables it last saw and scans instead of using the _id indexes.
func (f *Fleet) Settle(ctx context.Context) error {
	if f.analyze == nil {
		return nil
	}
	return f.analyze(ctx)
}

// Backends say what the fleet keeps its data in and talks through.
const (
	// Embedded: the all-in-one defaults (FerretDB on SQLite, the Redis stand-in, the
	// in-process broker).
	Embedded = "embedded"
	// Servers: the machine's servers, each part fresh for the run: FerretDB (in this process)
	// on a new PostgreSQL database, a new RabbitMQ virtual host, and Redis keys under a new
	// prefix. They are removed when the fleet stops.
	Servers = "servers"
)

// StartFleet starts the all-in-one fleet in this process, on free loopback ports with a
// temporary data folder, on the embedded backends, and waits until every service is ready.
func StartFleet(ctx context.Context) (*Fleet, error) { return StartFleetOn(ctx, Embedded) }

// StartFleetOn starts the all-in-one fleet as StartFleet does, on backend (Embedded or Servers).
func StartFleetOn(ctx context.Context, backend string) (*Fleet, error) {
	dir, err := os.MkdirTemp("", "ecommerce-bench-")
	if err != nil {
		return nil, err
	}
	f := &Fleet{URLs: map[string]string{}, Admin: "benchadmin:bench-admin-password"}
	env := map[string]string{"DATA_DIR": dir, "AUTH_BOOTSTRAP_ADMIN": f.Admin, "LOG_LEVEL": "error",
		// A measurement's shoppers check out and upload far faster than a person: the
		// per-account quotas (SPEC §2) are off, so they neither refuse them nor cost round trips.
		"CART_CHECKOUTS_PER_MINUTE": "0", "IMAGE_UPLOADS_PER_HOUR": "0", "IMAGE_UPLOAD_MB_PER_HOUR": "0",
		"AUTH_SIGNUPS_PER_HOUR": "0",
		// Its shoppers never pay: the unpaid-order limit (ORDERS_MAX_UNPAID) would refuse them.
		"ORDERS_MAX_UNPAID": "0"}
	for _, s := range Services {
		f.URLs[s] = "http://" + FreeAddr()
		env[strings.ToUpper(s)+"_SERVICE_URL"] = f.URLs[s]
	}
	f.Web = "http://" + FreeAddr() // not on :8080, where a developer's shop may run
	env["WEB_SERVICE_URL"] = f.Web
	cleanup := func() {}
	switch backend {
	case Embedded:
		mongoAddr := FreeAddr()
		f.MongoURL = "mongodb://" + mongoAddr + "/"
		env["EMBEDDED_MONGO_ADDR"], env["EMBEDDED_REDIS_ADDR"] = mongoAddr, FreeAddr()
	case Servers:
		s, err := startServers(ctx)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		f.MongoURL, cleanup, f.analyze = s.mongoURL, s.stop, s.analyze
		env["MONGO_URL"], env["RABBIT_URL"], env["REDIS_URL"], env["IMAGE_REDIS_PREFIX"] = s.mongoURL, s.rabbitURL, s.redisURL, s.redisPrefix
	default:
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("unknown backend %q (%s or %s)", backend, Embedded, Servers)
	}
	fleetCtx, stopFleet := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fleet.Run(fleetCtx, func(k string) string { return env[k] }, io.Discard) }()
	f.stop = func() {
		stopFleet()
		<-done
		cleanup()
		_ = os.RemoveAll(dir)
	}
	if err := WaitReady(ctx, f.URLs); err != nil {
		f.Stop()
		return nil, err
	}
	return f, nil
}

// Stop stops the fleet and removes its data.
func (f *Fleet) Stop() { f.stop() }

// FreeAddr returns a loopback address with a free port.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// WaitReady waits until every service's /readyz answers 200, for at most 90 s.
func WaitReady(ctx context.Context, urls map[string]string) error {
	deadline := time.Now().Add(90 * time.Second)
	for name, u := range urls {
		for {
			resp, err := http.Get(u + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s not ready at %s", name, u)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nil
}
