// Package fleet runs the whole shop in one process: every service's Run side by side, sharing an
// in-process broker, with an embedded MongoDB-wire server (FerretDB on SQLite) and an embedded
// Redis-protocol server keeping their data in one folder. Any environment variable of SPEC §1
// switches that part to a real server instead.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/cart"
	"github.com/ecommerce-go/ecommerce/catalog"
	"github.com/ecommerce-go/ecommerce/image"
	"github.com/ecommerce-go/ecommerce/internal/mongowire"
	"github.com/ecommerce-go/ecommerce/internal/redisd"
	"github.com/ecommerce-go/ecommerce/orders"
	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/correlation"
	"github.com/ecommerce-go/ecommerce/web"
	"golang.org/x/sync/errgroup"
)

// service is one member of the fleet: its Run and the variable holding its URL (its port).
type service struct {
	name   string
	urlVar string
	run    app.RunFunc
}

var services = []service{
	{"auth", "AUTH_SERVICE_URL", auth.Run},
	{"image", "IMAGE_SERVICE_URL", image.Run},
	{"catalog", "CATALOG_SERVICE_URL", catalog.Run},
	{"cart", "CART_SERVICE_URL", cart.Run},
	{"orders", "ORDERS_SERVICE_URL", orders.Run},
	{"web", "WEB_SERVICE_URL", web.Run},
}

// Defaults of the embedded servers: loopback only, ports away from real servers' defaults.
const (
	defaultMongoAddr = "127.0.0.1:37017"
	defaultRedisAddr = "127.0.0.1:36379"
)

// listenHost is the address the fleet's services listen on: loopback, unless LISTEN_HOST says
// otherwise (a development fleet holds a known admin password; the service binaries and
// containers listen on every interface instead). share is the banner's line about it.
func listenHost(e config.Env) (host, share string) {
	host = e.String("LISTEN_HOST", "127.0.0.1")
	if host == "127.0.0.1" || host == "::1" || host == "localhost" {
		return host, "listening on " + host + " only: to share it on your network, run with LISTEN_HOST=0.0.0.0 (anyone there reaches the admin APIs)"
	}
	return host, "listening on " + host + " (LISTEN_HOST): reachable from your network"
}

// Run starts the fleet and blocks until ctx is done or a service fails; it then stops them all.
func Run(ctx context.Context, getenv config.Getenv, stdout io.Writer) error {
	log := correlation.NewLogger(stdout, "fleet", slog.LevelInfo)
	e := config.Env{Getenv: getenv}
	dataDir, err := filepath.Abs(e.String("DATA_DIR", "data"))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	env := map[string]string{} // what the fleet sets for its services, over getenv
	var embedded []string
	if e.String("MONGO_URL", "") == "" {
		addr := e.String("EMBEDDED_MONGO_ADDR", defaultMongoAddr)
		srv, err := mongowire.Start(ctx, mongowire.Options{Addr: addr, SQLiteDir: filepath.Join(dataDir, "mongo")})
		if err != nil {
			return err
		}
		env["MONGO_URL"] = srv.URI
		embedded = append(embedded, "MongoDB-wire (FerretDB/SQLite) on "+addr)
	}
	if e.String("REDIS_URL", "") == "" {
		addr := e.String("EMBEDDED_REDIS_ADDR", defaultRedisAddr)
		if _, err := redisd.Start(ctx, addr, filepath.Join(dataDir, "redis"), log); err != nil {
			return err
		}
		env["REDIS_URL"] = "redis://" + addr + "/0"
		embedded = append(embedded, "Redis protocol on "+addr)
	}
	var shared bus.Bus
	if e.String("RABBIT_URL", "") == "" {
		shared = bus.NewMemory(contract.Topology)
		defer shared.Close()
		embedded = append(embedded, "in-process broker")
	}
	if env["JWT_SECRET"], err = keptSecret(e, "JWT_SECRET", filepath.Join(dataDir, "jwt-secret")); err != nil {
		return err
	}
	admin := e.String("AUTH_BOOTSTRAP_ADMIN", "")
	if admin == "" {
		password, err := keptSecret(e, "", filepath.Join(dataDir, "admin-password"))
		if err != nil {
			return err
		}
		admin = "admin:" + password[:16]
		env["AUTH_BOOTSTRAP_ADMIN"] = admin
	}

	// The storefront signs people in from its own loopback address and names the person's
	// address in X-Forwarded-For; auth believes that only from the addresses listed here.
	if e.String("AUTH_TRUSTED_PROXIES", "") == "" {
		env["AUTH_TRUSTED_PROXIES"] = "127.0.0.1,::1"
	}

	host, share := listenHost(e)
	env["LISTEN_HOST"] = host

	// The first service to fail stops the others (errgroup cancels their context).
	g, gctx := errgroup.WithContext(ctx)
	urls := map[string]string{}
	for _, s := range services {
		u := e.String(s.urlVar, config.DefaultURL(s.name))
		urls[s.name] = u
		port, err := portOf(u)
		if err != nil {
			cancel()
			_ = g.Wait()
			return fmt.Errorf("%s: %w", s.urlVar, err)
		}
		own := map[string]string{"PORT": port}
		opts := app.Options{Getenv: overlay(getenv, env, own), Stdout: stdout, Bus: shared}
		g.Go(func() error {
			if err := s.run(gctx, opts); err != nil && gctx.Err() == nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			return nil
		})
	}
	login, password, _ := strings.Cut(admin, ":")
	fmt.Fprintf(stdout, "\n  ecommerce is running (data in %s; embedded: %s)\n", dataDir, strings.Join(embedded, ", "))
	for _, s := range services {
		fmt.Fprintf(stdout, "    %-8s %s\n", s.name, urls[s.name])
	}
	fmt.Fprintf(stdout, "  admin: login %q, password %q (AUTH_BOOTSTRAP_ADMIN changes it)\n", login, password)
	fmt.Fprintf(stdout, "  shop: open %s in a browser, or try: curl %s/articles\n", urls["web"], urls["catalog"])
	fmt.Fprintf(stdout, "  %s\n\n", share)

	return g.Wait()
}

func portOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if u.Port() == "" {
		return "", fmt.Errorf("%q has no port", raw)
	}
	return u.Port(), nil
}

// overlay reads layers first (last one wins), then the real environment.
func overlay(getenv config.Getenv, layers ...map[string]string) config.Getenv {
	return func(key string) string {
		for i := len(layers) - 1; i >= 0; i-- {
			if v, ok := layers[i][key]; ok && v != "" {
				return v
			}
		}
		return getenv(key)
	}
}

// keptSecret returns the variable's value, or a random secret made once and kept in file, so
// tokens and the admin password survive a restart of the all-in-one run.
func keptSecret(e config.Env, variable, file string) (string, error) {
	if variable != "" {
		if v := e.String(variable, ""); v != "" {
			return v, nil
		}
	}
	if b, err := os.ReadFile(file); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, 32)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(buf)
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		return "", err
	}
	return secret, nil
}
