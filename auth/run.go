package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"


	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/config"
	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// Config is the auth service's configuration: the common variables and its own.
type Config struct {
	config.Common
	MongoDB        string         // MONGO_DB, default "auth"
	Secret         []byte         // JWT_SECRET, untrimmed: spaces may be part of a secret
	BootstrapAdmin string         // AUTH_BOOTSTRAP_ADMIN, "login:password", untrimmed too
	TrustedProxies []netip.Prefix // AUTH_TRUSTED_PROXIES, comma-separated addresses or CIDRs
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, "3000")
	if err != nil {
		return Config{}, err
	}
	e := config.Env{Getenv: getenv}
	proxies, err := parsePrefixes(e.String("AUTH_TRUSTED_PROXIES", ""))
	if err != nil {
		return Config{}, fmt.Errorf("AUTH_TRUSTED_PROXIES: %w", err)
	}
	return Config{
		Common:         common,
		MongoDB:        e.String("MONGO_DB", "auth"),
		Secret:         []byte(getenv("JWT_SECRET")),
		BootstrapAdmin: getenv("AUTH_BOOTSTRAP_ADMIN"),
		TrustedProxies: proxies,
	}, nil
}

// parsePrefixes reads "127.0.0.1, 10.0.0.0/8": single addresses and CIDR prefixes.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var prefixes []netip.Prefix
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		if addr, err := netip.ParseAddr(item); err == nil {
			prefixes = append(prefixes, netip.PrefixFrom(addr, addr.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, err
		}
		prefixes = append(prefixes, p.Masked())
	}
	return prefixes, nil
}

// Run runs the auth service until ctx is done. It refuses to start without a JWT_SECRET of at
// least MinSecretBytes bytes: tokens are signed with it and nothing else.
func Run(ctx context.Context, opts app.Options) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	if len(cfg.Secret) < MinSecretBytes {
		return fmt.Errorf("JWT_SECRET must be set to a secret of at least %d bytes", MinSecretBytes)
	}
	var adminLogin, adminPassword string
	if cfg.BootstrapAdmin != "" {
		var ok bool
		if adminLogin, adminPassword, ok = strings.Cut(cfg.BootstrapAdmin, ":"); !ok {
			return errors.New("AUTH_BOOTSTRAP_ADMIN must be login:password")
		}
	}
	rt, err := app.Start(ctx, opts, "auth", cfg.Common, "mongo_db", cfg.MongoDB)
	if err != nil {
		return err
	}
	defer rt.Close()
	store, err := app.OpenStore(ctx, rt, cfg.MongoDB, NewStore)
	if err != nil {
		return err
	}

	if adminLogin != "" {
		created, err := BootstrapAdmin(ctx, store, adminLogin, adminPassword)
		if err != nil {
			return fmt.Errorf("AUTH_BOOTSTRAP_ADMIN: %w", err)
		}
		rt.Log.Info("bootstrap admin ready", "login", adminLogin, "created", created)
	}

	srv := NewServer(Deps{
		Basics: rt.Basics(),
		Store:  store, Bus: rt.Bus, Secret: cfg.Secret, TrustedProxies: cfg.TrustedProxies,
	})
	return rt.Serve(ctx, srv)
}

func openStore(ctx context.Context, cfg Config) (*mongox.Client, *Store, error) {
	client, err := mongox.Connect(ctx, cfg.MongoURL)
	if err != nil {
		return nil, nil, err
	}
	store, err := NewStore(ctx, client.Database(cfg.MongoDB))
	if err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, nil, err
	}
	return client, store, nil
}

// BootstrapAdmin makes sure login exists and holds "admin": it creates the user (name = login)
// with password, or grants "admin" to the existing user without touching its password. It is
// idempotent and safe when several instances start at once: the unique login decides who
// creates, the others grant. It tells whether it created the user.
func BootstrapAdmin(ctx context.Context, store *Store, login, password string) (bool, error) {
	u, err := newUser(login, login, password, PermissionUser, PermissionAdmin)
	if err != nil {
		return false, err
	}
	_, err = store.CreateUser(ctx, u)
	if errors.Is(err, errs.Conflict) {
		return false, grantByLogin(ctx, store, login, PermissionAdmin)
	}
	return err == nil, err
}

func grantByLogin(ctx context.Context, store *Store, login, permission string) error {
	if err := checkPermissions([]string{permission}); err != nil {
		return err
	}
	u, err := store.UserByLogin(ctx, strings.TrimSpace(login))
	if err != nil {
		return err
	}
	return store.Grant(ctx, u.ID, []string{permission})
}

// Grant is the `auth grant <login> <permission>` command: it gives permission to the user of
// login in the database of MONGO_URL / MONGO_DB. It needs no JWT_SECRET and no broker.
func Grant(ctx context.Context, opts app.Options, login, permission string) error {
	cfg, err := LoadConfig(opts.Getenv)
	if err != nil {
		return err
	}
	client, store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = client.Disconnect(context.WithoutCancel(ctx)) }()
	if err := grantByLogin(ctx, store, login, permission); err != nil {
		return err
	}
	out := opts.Stdout
	if out == nil {
		out = io.Discard
	}
	_, err = fmt.Fprintf(out, "granted %q to %s\n", permission, login)
	return err
}
