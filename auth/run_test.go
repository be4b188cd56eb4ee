package auth_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

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
		"no secret":        {},
		"short secret":     {"JWT_SECRET": strings.Repeat("s", 31)},
		"bootstrap format": {"JWT_SECRET": string(testSecret), "AUTH_BOOTSTRAP_ADMIN": "no-colon"},
		"trusted proxies":  {"JWT_SECRET": string(testSecret), "AUTH_TRUSTED_PROXIES": "localhost"},
	}
	for name, vars := range tests {
		t.Run(name, func(t *testing.T) {
			err := auth.Run(context.Background(), app.Options{Getenv: envOf(vars)})
			assert.Error(t, err)
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
