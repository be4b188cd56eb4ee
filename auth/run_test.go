package auth_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

func envOf(vars map[string]string) func(string) string {
	return func(key string) string { return vars[key] }
}

func TestRunRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tests := map[string]map[string]string{
		"no secret":          {},
		"short secret":       {"JWT_SECRET": strings.Repeat("s", 31)},
		"bootstrap format":   {"JWT_SECRET": string(testSecret), "AUTH_BOOTSTRAP_ADMIN": "no-colon"},
		"trusted proxies":    {"JWT_SECRET": string(testSecret), "AUTH_TRUSTED_PROXIES": "localhost"},
		"sign-ups quota":     {"JWT_SECRET": string(testSecret), "AUTH_SIGNUPS_PER_HOUR": "-1"},
		"sign-ups word":      {"JWT_SECRET": string(testSecret), "AUTH_SIGNUPS_PER_HOUR": "many"},
		"per address 0":      {"JWT_SECRET": string(testSecret), "AUTH_SIGNIN_PER_ADDRESS": "0"},
		"per login 0":        {"JWT_SECRET": string(testSecret), "AUTH_SIGNIN_FAILURES_PER_LOGIN": "0"},
		"login window":       {"JWT_SECRET": string(testSecret), "AUTH_SIGNIN_LOGIN_WINDOW": "0s"},
		"app env":            {"JWT_SECRET": string(testSecret), "APP_ENV": "staging"},
		"placeholder secret": {"JWT_SECRET": "please-CHANGE-ME-0123456789abcdef0123456789"},
		"placeholder admin":  {"JWT_SECRET": string(testSecret), "AUTH_BOOTSTRAP_ADMIN": "admin:my-example-pw"},
	}
	for name, vars := range tests {
		t.Run(name, func(t *testing.T) {
			err := auth.Run(context.Background(), app.Options{Getenv: envOf(vars)})
			assert.Error(t, err)
		})
	}
}

// The examples that deploy/ publishes (the compose file's defaults, the Kubernetes secrets
// example) are refused outside development: a shop started with them is anyone's.
func TestRunRefusesPublishedExamples(t *testing.T) {
	t.Parallel()
	compose, err := os.ReadFile("../deploy/docker-compose.yml")
	require.NoError(t, err)
	k8s, err := os.ReadFile("../deploy/k8s/secrets.env.example")
	require.NoError(t, err)
	published := map[string]string{} // where -> JWT_SECRET or AUTH_BOOTSTRAP_ADMIN=value
	for _, m := range regexp.MustCompile(`\$\{(JWT_SECRET|AUTH_BOOTSTRAP_ADMIN):-([^}]+)\}`).FindAllStringSubmatch(string(compose), -1) {
		published["compose "+m[1]] = m[1] + "=" + m[2]
	}
	for _, line := range strings.Split(string(k8s), "\n") {
		if strings.HasPrefix(line, "JWT_SECRET=") || strings.HasPrefix(line, "AUTH_BOOTSTRAP_ADMIN=") {
			published["k8s "+line[:strings.Index(line, "=")]] = line
		}
	}
	require.Len(t, published, 4, "the compose defaults and the k8s example of both variables")
	for where, setting := range published {
		t.Run(where, func(t *testing.T) {
			name, value, _ := strings.Cut(setting, "=")
			vars := map[string]string{"JWT_SECRET": string(testSecret), name: value}
			err := auth.Run(context.Background(), app.Options{Getenv: envOf(vars)})
			require.Error(t, err)
			assert.Contains(t, err.Error(), name)
			assert.Contains(t, err.Error(), "APP_ENV=development", "the message says how a developer opts in")
		})
	}
}

// TestRun starts the service as its binary would, with a bootstrap admin, and stops it.
func TestRun(t *testing.T) {
	t.Parallel()
	db := testkit.Mongo(t)
	base := testkit.RunService(t, auth.Run, map[string]string{
		"MONGO_URL": testkit.MongoURL(t), "MONGO_DB": db.Name(),
		"RABBIT_URL": testkit.RabbitURL(t), "JWT_SECRET": string(testSecret),
		"AUTH_BOOTSTRAP_ADMIN": "chief:chief-password",
	}, nil)

	resp, err := http.Post(base+"/users/signin", "application/json",
		strings.NewReader(`{"login":"chief","password":"chief-password"}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the bootstrap admin can sign in")

	resp, err = http.Get(base + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "/metrics answers loopback by default")
}

// With APP_ENV=development, a developer may run the published examples; and the quotas come
// from the environment: AUTH_SIGNUPS_PER_HOUR=1 lets one sign-up through per address.
func TestRunDevelopment(t *testing.T) {
	t.Parallel()
	db := testkit.Mongo(t)
	base := testkit.RunService(t, auth.Run, map[string]string{
		"MONGO_URL": testkit.MongoURL(t), "MONGO_DB": db.Name(), "RABBIT_URL": testkit.RabbitURL(t),
		"APP_ENV": "development", "JWT_SECRET": "dev-only-change-me-0123456789abcdef0123456789",
		"AUTH_BOOTSTRAP_ADMIN": "admin:change-me-please", "AUTH_SIGNUPS_PER_HOUR": "1",
		"METRICS_ALLOW": "10.99.0.0/16",
	}, nil)
	post := func(path, body string) *http.Response {
		resp, err := http.Post(base+path, "application/json", strings.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	assert.Equal(t, http.StatusOK, post("/users/signin", `{"login":"admin","password":"change-me-please"}`).StatusCode)
	assert.Equal(t, http.StatusOK, post("/users/signup", `{"name":"A","login":"first","password":"first-password"}`).StatusCode)
	second := post("/users/signup", `{"name":"B","login":"second","password":"second-password"}`)
	assert.Equal(t, http.StatusTooManyRequests, second.StatusCode)
	assert.NotEmpty(t, second.Header.Get("Retry-After"))

	metrics, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	metrics.Body.Close()
	assert.Equal(t, http.StatusNotFound, metrics.StatusCode, "METRICS_ALLOW lists only 10.99.0.0/16")
}

func TestLoadConfigLimits(t *testing.T) {
	t.Parallel()
	cfg, err := auth.LoadConfig(envOf(nil))
	require.NoError(t, err)
	assert.Equal(t, auth.DefaultLimits, cfg.Limits)
	assert.False(t, cfg.Development)

	cfg, err = auth.LoadConfig(envOf(map[string]string{
		"AUTH_SIGNUPS_PER_HOUR": "0", "AUTH_SIGNIN_PER_ADDRESS": "100",
		"AUTH_SIGNIN_FAILURES_PER_LOGIN": "5", "AUTH_SIGNIN_LOGIN_WINDOW": "10m", "APP_ENV": "development",
	}))
	require.NoError(t, err)
	assert.Equal(t, auth.Unlimited, cfg.Limits.SignUps, "0 turns the quota off")
	assert.Equal(t, 100, cfg.Limits.PerAddress)
	assert.Equal(t, 5, cfg.Limits.LoginFailures)
	assert.Equal(t, 10*time.Minute, cfg.Limits.LoginWindow)
	assert.True(t, cfg.Development)
}

func TestLoadConfigTokenIdle(t *testing.T) {
	t.Parallel()
	for set, want := range map[string]time.Duration{"": 720 * time.Hour, "0": 0, "2h": 2 * time.Hour, "1h": time.Hour} {
		cfg, err := auth.LoadConfig(envOf(map[string]string{"AUTH_TOKEN_IDLE": set}))
		require.NoError(t, err, set)
		assert.Equal(t, want, cfg.TokenIdle, "AUTH_TOKEN_IDLE=%q", set)
	}
	for _, bad := range []string{"-1h", "59m", "soon"} {
		_, err := auth.LoadConfig(envOf(map[string]string{"AUTH_TOKEN_IDLE": bad}))
		assert.ErrorContains(t, err, "AUTH_TOKEN_IDLE", bad)
	}
}

func TestLoadConfigPasswordCost(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		env  map[string]string
		want int
	}{
		{nil, auth.DefaultPasswordCost},
		{map[string]string{"AUTH_PASSWORD_COST": "12"}, 12},
		{map[string]string{"AUTH_PASSWORD_COST": "4", "APP_ENV": "development"}, 4},
	} {
		cfg, err := auth.LoadConfig(envOf(c.env))
		require.NoError(t, err, c.env)
		assert.Equal(t, c.want, cfg.PasswordCost, c.env)
	}
	for _, bad := range []map[string]string{
		{"AUTH_PASSWORD_COST": "4"}, // below SPEC's minimum outside development
		{"AUTH_PASSWORD_COST": "9"},
		{"AUTH_PASSWORD_COST": "3", "APP_ENV": "development"},
		{"AUTH_PASSWORD_COST": "32"},
		{"AUTH_PASSWORD_COST": "ten"},
	} {
		_, err := auth.LoadConfig(envOf(bad))
		assert.ErrorContains(t, err, "AUTH_PASSWORD_COST", bad)
	}
}

func TestGrantCommand(t *testing.T) {
	t.Parallel()
	e := newEnv(t, auth.Limits{})
	token := e.signUp("Kim", "kim-lee", "kim-password")
	vars := map[string]string{"MONGO_URL": testkit.MongoURL(t), "MONGO_DB": e.dbName}
	var out bytes.Buffer
	opts := app.Options{Getenv: envOf(vars), Stdout: &out}
	require.NoError(t, auth.Grant(context.Background(), opts, "KIM-LEE", "admin"))
	assert.Contains(t, out.String(), "admin")
	assert.ElementsMatch(t, []string{"user", "admin"}, e.current(token).Permissions)

	assert.Error(t, auth.Grant(context.Background(), opts, "nobody", "admin"), "unknown login")
	assert.Error(t, auth.Grant(context.Background(), opts, "kim-lee", "Not Valid"), "bad permission")
}
