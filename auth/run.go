package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

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
	Limits         Limits         // AUTH_SIGNUPS_PER_HOUR, AUTH_SIGNIN_* (see loadLimits)
	TokenIdle      time.Duration  // AUTH_TOKEN_IDLE, default DefaultTokenIdle, 0 = never expire
	PasswordCost   int            // AUTH_PASSWORD_COST, bcrypt cost, default DefaultPasswordCost
	// Development is APP_ENV=development: only then may JWT_SECRET and AUTH_BOOTSTRAP_ADMIN
	// hold the published examples (see checkNotExample).
	Development bool
}

// LoadConfig reads the configuration from getenv.
func LoadConfig(getenv config.Getenv) (Config, error) {
	common, err := config.Load(getenv, config.DefaultPort("auth"))
	if err != nil {
		return Config{}, err
	}
	e := config.Env{Getenv: getenv}
	proxies, err := parsePrefixes(e.String("AUTH_TRUSTED_PROXIES", ""))
	if err != nil {
		return Config{}, fmt.Errorf("AUTH_TRUSTED_PROXIES: %w", err)
	}
	limits, err := loadLimits(e)
	if err != nil {
		return Config{}, err
	}
	idle, err := e.Duration("AUTH_TOKEN_IDLE", DefaultTokenIdle)
	if err != nil {
		return Config{}, err
	}
	// Uses answered from another service's token cache (TOKEN_CACHE_TTL, at most 5m) never reach
	// auth, so an idle limit must be far longer than that: at least an hour.
	if idle < 0 || (idle > 0 && idle < time.Hour) {
		return Config{}, fmt.Errorf("AUTH_TOKEN_IDLE must be 0 (never expire) or at least 1h, got %s", idle)
	}
	appEnv := e.String("APP_ENV", "production")
	if appEnv != "development" && appEnv != "production" {
		return Config{}, fmt.Errorf("APP_ENV must be development or production, got %q", appEnv)
	}
	// A cost below SPEC's minimum makes sign-ins cheap to run, and guesses cheap too: for a
	// developer's machine and the tests' fleets only (bcrypt at cost 10 takes about a second of
	// CPU under the race detector).
	cost, err := e.Int("AUTH_PASSWORD_COST", DefaultPasswordCost)
	if err != nil {
		return Config{}, err
	}
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost || (cost < DefaultPasswordCost && appEnv != "development") {
		return Config{}, fmt.Errorf("AUTH_PASSWORD_COST must be %d to %d (from %d with APP_ENV=development), got %d",
			DefaultPasswordCost, bcrypt.MaxCost, bcrypt.MinCost, cost)
	}
	return Config{
		Common:         common,
		MongoDB:        e.String("MONGO_DB", "auth"),
		Secret:         []byte(getenv("JWT_SECRET")),
		BootstrapAdmin: getenv("AUTH_BOOTSTRAP_ADMIN"),
		TrustedProxies: proxies,
		Limits:         limits,
		TokenIdle:      idle,
		PasswordCost:   cost,
		Development:    appEnv == "development",
	}, nil
}

// loadLimits reads the tunable rate limits; the others keep DefaultLimits.
//
//   - AUTH_SIGNUPS_PER_HOUR: successful sign-ups per address per hour (default 30, 0 = off:
//     load tools and test fleets sign everyone up from one address).
//   - AUTH_SIGNIN_PER_ADDRESS: sign-in attempts per address per minute (default 30).
//   - AUTH_SIGNIN_FAILURES_PER_LOGIN: failed sign-ins per login from unfamiliar addresses
//     per AUTH_SIGNIN_LOGIN_WINDOW (default 20 per 1h).
//
// The guessing limits cannot be turned off.
func loadLimits(e config.Env) (Limits, error) {
	l := DefaultLimits
	var err error
	for _, f := range []struct {
		name string
		v    *int
		off  bool // 0 allowed, meaning Unlimited
	}{
		{"AUTH_SIGNUPS_PER_HOUR", &l.SignUps, true},
		{"AUTH_SIGNIN_PER_ADDRESS", &l.PerAddress, false},
		{"AUTH_SIGNIN_FAILURES_PER_LOGIN", &l.LoginFailures, false},
	} {
		if *f.v, err = e.Int(f.name, *f.v); err != nil {
			return l, err
		}
		switch {
		case *f.v == 0 && f.off:
			*f.v = Unlimited
		case *f.v < 1:
			return l, fmt.Errorf("%s must be at least 1, got %d", f.name, *f.v)
		}
	}
	if l.LoginWindow, err = e.Duration("AUTH_SIGNIN_LOGIN_WINDOW", l.LoginWindow); err != nil {
		return l, err
	}
	if l.LoginWindow < time.Second {
		return l, fmt.Errorf("AUTH_SIGNIN_LOGIN_WINDOW must be at least 1s, got %s", l.LoginWindow)
	}
	return l, nil
}

// The values that deploy/ publishes as examples of JWT_SECRET and of the bootstrap admin's
// password, and words that mark a placeholder: a shop started with them is open to anyone
// who read the repository (forge any token, or sign in as admin).
var (
	exampleSecrets = []string{
		"dev-only-change-me-0123456789abcdef0123456789",                   // deploy/docker-compose.yml
		"replace-with-64-hex-characters-0123456789abcdef0123456789abcdef", // deploy/k8s/secrets.env.example
	}
	examplePasswords = []string{"change-me-please", "replace-with-a-long-password", "a-long-password"}
	placeholderWords = []string{"change-me", "changeme", "replace-with", "example", "of your own"}
)

// checkNotExample refuses a published example as JWT_SECRET or as the bootstrap admin's
// password, unless cfg is a developer's (APP_ENV=development).
func checkNotExample(cfg Config, adminPassword string) error {
	if cfg.Development {
		return nil
	}
	isExample := func(v string, examples []string) bool {
		lower := strings.ToLower(v)
		return slices.Contains(examples, v) || slices.ContainsFunc(placeholderWords, func(w string) bool {
			return strings.Contains(lower, w)
		})
	}
	const hint = "set a value of your own (openssl rand -hex 32), or APP_ENV=development on a developer's machine"
	if isExample(string(cfg.Secret), exampleSecrets) {
		return fmt.Errorf("JWT_SECRET is a published example or placeholder: %s", hint)
	}
	if adminPassword != "" && isExample(adminPassword, examplePasswords) {
		return fmt.Errorf("AUTH_BOOTSTRAP_ADMIN's password is a published example or placeholder: %s", hint)
	}
	return nil
}

// parsePrefixes reads "127.0.0.1, 10.0.0.0/8": single addresses and CIDR prefixes.
func parsePrefixes(list string) ([]netip.Prefix, error) { return config.ParsePrefixes(list) }

// limitsCleanupEvery is how often the rate limits' finished windows are deleted.
const limitsCleanupEvery = 10 * time.Minute

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
	if err := checkNotExample(cfg, adminPassword); err != nil {
		return err
	}
	rt, err := app.Start(ctx, opts, "auth", cfg.Common, "mongo_db", cfg.MongoDB,
		"development", cfg.Development, "trusted_proxies", fmt.Sprint(cfg.TrustedProxies),
		"signups_per_hour", cfg.Limits.SignUps, "signin_per_address", cfg.Limits.PerAddress,
		"signin_failures_per_login", cfg.Limits.LoginFailures, "signin_login_window", cfg.Limits.LoginWindow.String(),
		"token_idle", cfg.TokenIdle.String())
	if err != nil {
		return err
	}
	defer rt.Close()
	store, err := app.OpenStore(ctx, rt, cfg.MongoDB, NewStore)
	if err != nil {
		return err
	}

	if adminLogin != "" {
		created, err := BootstrapAdmin(ctx, store, cfg.PasswordCost, adminLogin, adminPassword)
		if err != nil {
			return fmt.Errorf("AUTH_BOOTSTRAP_ADMIN: %w", err)
		}
		rt.Log.Info("bootstrap admin ready", "login", adminLogin, "created", created)
	}

	srv := NewServer(Deps{
		Basics: rt.Basics(),
		Store:  store, Bus: rt.Bus, Secret: cfg.Secret, TrustedProxies: cfg.TrustedProxies, Limits: cfg.Limits,
		TokenIdle: cfg.TokenIdle, PasswordCost: cfg.PasswordCost,
	})
	return rt.Serve(ctx, srv, limitsCleaner(store, rt.Log, time.Now, limitsCleanupEvery))
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
// creates, the others grant. It tells whether it created the user. passwordCost is the bcrypt
// cost of the hash (DefaultPasswordCost when 0).
func BootstrapAdmin(ctx context.Context, store *Store, passwordCost int, login, password string) (bool, error) {
	u, err := newPasswords(passwordCost).newUser(login, login, password, PermissionUser, PermissionAdmin)
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
