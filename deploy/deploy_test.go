package deploy

import (
	"bufio"
	"bytes"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// fleet is SPEC §1: the API services and their ports.
var fleet = []struct{ name, port string }{
	{"auth", "3000"}, {"image", "3001"}, {"catalog", "3002"}, {"cart", "3003"}, {"orders", "3004"},
}

// containers are the services compose runs: the API services and the web storefront, which
// serves HTML pages, not an API document.
var containers = append(slices.Clone(fleet), struct{ name, port string }{"web", "8080"})

// specVars are the variables of SPEC §1, the same names in every service.
var specVars = []string{
	"PORT", "MONGO_URL", "REDIS_URL", "RABBIT_URL", "AUTH_SERVICE_URL", "CATALOG_SERVICE_URL",
	"IMAGE_SERVICE_URL", "CART_SERVICE_URL", "ORDERS_SERVICE_URL", "JWT_SECRET", "AUTH_BOOTSTRAP_ADMIN",
}

// needs is what each service reads to run against the real stores and the broker.
var needs = map[string][]string{
	"auth":    {"PORT", "MONGO_URL", "RABBIT_URL", "JWT_SECRET", "AUTH_BOOTSTRAP_ADMIN"},
	"image":   {"PORT", "REDIS_URL", "RABBIT_URL", "AUTH_SERVICE_URL"},
	"catalog": {"PORT", "MONGO_URL", "RABBIT_URL", "AUTH_SERVICE_URL"},
	"cart":    {"PORT", "MONGO_URL", "RABBIT_URL", "AUTH_SERVICE_URL", "CATALOG_SERVICE_URL"},
	"orders":  {"PORT", "MONGO_URL", "RABBIT_URL", "AUTH_SERVICE_URL"},
	"web": {"PORT", "RABBIT_URL", "AUTH_SERVICE_URL", "IMAGE_SERVICE_URL", "CATALOG_SERVICE_URL",
		"CART_SERVICE_URL", "ORDERS_SERVICE_URL"},
}

// target is where a URL variable must point inside the compose network.
type target struct{ scheme, host, port string }

var urlTargets = map[string]target{
	"MONGO_URL":           {"mongodb", "mongo", "27017"},
	"REDIS_URL":           {"redis", "redis", "6379"},
	"RABBIT_URL":          {"amqp", "rabbitmq", "5672"},
	"AUTH_SERVICE_URL":    {"http", "auth", "3000"},
	"IMAGE_SERVICE_URL":   {"http", "image", "3001"},
	"CATALOG_SERVICE_URL": {"http", "catalog", "3002"},
	"CART_SERVICE_URL":    {"http", "cart", "3003"},
	"ORDERS_SERVICE_URL":  {"http", "orders", "3004"},
}

// composeFile is the part of the Compose format this file uses. It is decoded strictly, so a
// misspelt key fails the test instead of being ignored; a new key needs a field here.
type composeFile struct {
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
	Networks map[string]struct {
		IPAM struct {
			Config []struct {
				Subnet  string `yaml:"subnet"`
				IPRange string `yaml:"ip_range"`
			} `yaml:"config"`
		} `yaml:"ipam"`
	} `yaml:"networks"`
	Extensions map[string]any `yaml:",inline"` // x-… blocks for YAML anchors
}

type composeService struct {
	Image string `yaml:"image"`
	Build *struct {
		Context    string            `yaml:"context"`
		Dockerfile string            `yaml:"dockerfile"`
		Args       map[string]string `yaml:"args"`
	} `yaml:"build"`
	Hostname string   `yaml:"hostname"`
	Command  []string `yaml:"command"`
	Restart  string   `yaml:"restart"`
	Ports    []string `yaml:"ports"`
	Networks map[string]struct {
		IPv4Address string `yaml:"ipv4_address"`
	} `yaml:"networks"`
	Volumes     []string          `yaml:"volumes"`
	Environment map[string]string `yaml:"environment"`
	Healthcheck *struct {
		Test        []string `yaml:"test"`
		Interval    string   `yaml:"interval"`
		Timeout     string   `yaml:"timeout"`
		StartPeriod string   `yaml:"start_period"`
		Retries     int      `yaml:"retries"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile("docker-compose.yml")
	require.NoError(t, err)
	var c composeFile
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true) // a misspelt key is an error, not a silently ignored setting
	require.NoError(t, dec.Decode(&c))
	for key := range c.Extensions {
		require.True(t, strings.HasPrefix(key, "x-"), "unknown top-level key %q", key)
	}
	return c
}

var interpolation = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}`)

// interpolate applies compose's ${VAR:-default} with nothing set in the environment.
func interpolate(s string) string {
	return interpolation.ReplaceAllString(s, "$2")
}

// published reports whether ports publishes container port p on the same host port.
func published(ports []string, p string) bool {
	return slices.ContainsFunc(ports, func(mapping string) bool {
		return mapping == p+":"+p || strings.HasSuffix(mapping, ":"+p+":"+p)
	})
}

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, svc := range containers {
		t.Run(svc.name, func(t *testing.T) {
			s, ok := c.Services[svc.name]
			require.True(t, ok, "service %s is missing", svc.name)

			require.NotNil(t, s.Build, "built from the repository")
			assert.Equal(t, "..", s.Build.Context, "the build context is the repository root")
			assert.Equal(t, "deploy/Dockerfile", s.Build.Dockerfile)
			assert.Equal(t, map[string]string{"SERVICE": svc.name, "PORT": svc.port}, s.Build.Args)

			assert.True(t, published(s.Ports, svc.port), "port %s published, got %v", svc.port, s.Ports)
			assert.Equal(t, svc.port, s.Environment["PORT"])
			assert.Equal(t, "unless-stopped", s.Restart)
			require.NotNil(t, s.Healthcheck, "a health check")
			assert.Equal(t, []string{"CMD", "/healthcheck"}, s.Healthcheck.Test)
			assert.NotEmpty(t, s.Healthcheck.Interval)
			assert.Positive(t, s.Healthcheck.Retries)
		})
	}
}

func TestComposeEnvironment(t *testing.T) {
	c := loadCompose(t)
	for _, svc := range containers {
		t.Run(svc.name, func(t *testing.T) {
			s := c.Services[svc.name]
			for _, name := range needs[svc.name] {
				assert.NotEmpty(t, interpolate(s.Environment[name]), "%s is set", name)
			}
			for name, value := range s.Environment {
				value = interpolate(value)
				switch {
				case slices.Contains(specVars, name):
				case name == "MONGO_DB" || name == "LOG_LEVEL" || name == "TOKEN_CACHE_TTL" || name == "METRICS_ALLOW":
				case name == "APP_ENV" && svc.name == "auth": // only auth reads it
				case strings.HasPrefix(name, strings.ToUpper(svc.name)+"_"): // a service's own tunable
				default:
					t.Errorf("%s is neither a SPEC §1 variable nor a %s tunable", name, svc.name)
				}
				if (name == "JWT_SECRET" || name == "AUTH_BOOTSTRAP_ADMIN") && svc.name != "auth" {
					t.Errorf("%s is auth's only (SPEC §1)", name)
				}
				want, isURL := urlTargets[name]
				if !isURL {
					continue
				}
				u, err := url.Parse(value)
				if !assert.NoError(t, err, name) {
					continue
				}
				assert.Equal(t, want, target{u.Scheme, u.Hostname(), u.Port()}, "%s=%s", name, value)
				// A service starts after what it talks to is healthy.
				dep, ok := s.DependsOn[u.Hostname()]
				assert.True(t, ok, "%s depends on %s", svc.name, u.Hostname())
				assert.Equal(t, "service_healthy", dep.Condition, "%s waits for %s to be healthy", svc.name, u.Hostname())
			}
		})
	}

	auth := c.Services["auth"].Environment
	assert.GreaterOrEqual(t, len(interpolate(auth["JWT_SECRET"])), 32, "the default JWT_SECRET is at least 32 bytes")
	assert.Contains(t, auth["JWT_SECRET"], "${JWT_SECRET", "JWT_SECRET comes from the environment")
	login, password, ok := strings.Cut(interpolate(auth["AUTH_BOOTSTRAP_ADMIN"]), ":")
	assert.True(t, ok && login != "" && len(password) >= 8, "AUTH_BOOTSTRAP_ADMIN is login:password")
	assert.Contains(t, auth["AUTH_BOOTSTRAP_ADMIN"], "${AUTH_BOOTSTRAP_ADMIN", "AUTH_BOOTSTRAP_ADMIN comes from the environment")
}

func TestComposeBackingServices(t *testing.T) {
	c := loadCompose(t)
	backing := map[string]struct {
		image string
		ports []string
	}{
		"mongo":    {"mongo:7", []string{"27017"}},
		"redis":    {"redis:7", []string{"6379"}},
		"rabbitmq": {"rabbitmq:3.13-management", []string{"5672", "15672"}},
	}
	for name, want := range backing {
		t.Run(name, func(t *testing.T) {
			s, ok := c.Services[name]
			require.True(t, ok, "service %s is missing", name)
			assert.True(t, strings.HasPrefix(s.Image, want.image), "image %s, want %s", s.Image, want.image)
			for _, p := range want.ports {
				assert.True(t, published(s.Ports, p), "port %s published, got %v", p, s.Ports)
			}
			assert.Equal(t, "unless-stopped", s.Restart)
			require.NotNil(t, s.Healthcheck, "a health check, so the services can wait for it")
			assert.NotEmpty(t, s.Healthcheck.Test)
			assert.NotEmpty(t, s.Volumes, "data kept in a volume")
		})
	}
	assert.Equal(t, []string{"redis-server", "--appendonly", "yes"}, c.Services["redis"].Command)

	for name, s := range c.Services {
		for _, v := range s.Volumes {
			source, _, _ := strings.Cut(v, ":")
			if !strings.HasPrefix(source, ".") && !strings.HasPrefix(source, "/") {
				assert.Contains(t, c.Volumes, source, "%s's volume %s is declared", name, source)
			}
		}
	}
}

// dockerfile returns the instructions of deploy/Dockerfile, continuation lines joined.
func dockerfile(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("Dockerfile")
	require.NoError(t, err)
	defer f.Close()
	var out []string
	var cur string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur == "" && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		out = append(out, cur+line)
		cur = ""
	}
	require.NoError(t, sc.Err())
	return out
}

func TestDockerfile(t *testing.T) {
	lines := dockerfile(t)
	var froms []string
	for _, l := range lines {
		if strings.HasPrefix(l, "FROM ") {
			froms = append(froms, l)
		}
	}
	require.Len(t, froms, 2, "a build stage and a run stage")
	assert.Regexp(t, `^FROM golang:\S+ AS build$`, froms[0])
	assert.Equal(t, "FROM gcr.io/distroless/static-debian12:nonroot", froms[1])

	final := lines[slices.Index(lines, froms[1]):]
	assert.Contains(t, final, "USER nonroot:nonroot", "runs as a non-root user")
	assert.Contains(t, final, `ENTRYPOINT ["/service"]`)
	assert.Contains(t, final, "EXPOSE ${PORT}")
	assert.Contains(t, final, "COPY --from=build /out/healthcheck /healthcheck")
	assert.True(t, slices.ContainsFunc(lines, func(l string) bool {
		return strings.Contains(l, "CGO_ENABLED=0") && strings.Contains(l, `-o /out/service "./cmd/$SERVICE"`)
	}), "builds ./cmd/$SERVICE statically")

	ignore, err := os.ReadFile("Dockerfile.dockerignore")
	require.NoError(t, err)
	var included []string
	for _, l := range strings.Split(string(ignore), "\n") {
		if p, ok := strings.CutPrefix(strings.TrimSpace(l), "!"); ok {
			included = append(included, p)
		}
	}

	// Every file the build copies exists for every service and is in the build context.
	for _, svc := range containers {
		assert.FileExists(t, filepath.Join("..", svc.name, "cmd", svc.name, "main.go"))
		for _, l := range lines {
			if !strings.HasPrefix(l, "COPY ") || strings.HasPrefix(l, "COPY --from") {
				continue
			}
			args := strings.Fields(strings.ReplaceAll(l, "${SERVICE}", svc.name))
			for _, src := range args[1 : len(args)-1] {
				_, err := os.Stat(filepath.Join("..", src))
				assert.NoError(t, err, "%s: %s", svc.name, l)
				assert.True(t, slices.ContainsFunc(included, func(p string) bool { return strings.HasPrefix(src, p) }),
					"%s is in the build context (Dockerfile.dockerignore)", src)
			}
		}
	}
}

// TestServicesBuildAlone checks what the Dockerfile's build stage needs: each service module
// resolves all its packages with GOWORK=off, from its own go.mod and go.sum and ../pkg.
func TestServicesBuildAlone(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	for _, svc := range containers {
		t.Run(svc.name, func(t *testing.T) {
			cmd := exec.Command(goCmd, "list", "-deps", "-f", "{{if .Module}}{{.Module.Path}} {{.Module.Dir}}{{end}}", "./cmd/"+svc.name)
			cmd.Dir = filepath.Join("..", svc.name)
			cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=readonly", "CGO_ENABLED=0")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			require.NoError(t, err, "GOWORK=off go list ./cmd/%s (as in the Docker build):\n%s", svc.name, stderr.String())

			root, err := filepath.Abs("..")
			require.NoError(t, err)
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				path, dir, _ := strings.Cut(line, " ")
				if strings.HasPrefix(path, "github.com/ecommerce-go/ecommerce") {
					// Only the service and pkg are in the image's build context.
					rel, err := filepath.Rel(root, dir)
					require.NoError(t, err)
					assert.Contains(t, []string{svc.name, "pkg"}, rel, "%s uses %s", svc.name, path)
				}
			}
		})
	}
}

// Issue "one shopper must not hurt the others", finding (c): what the compose file exposes and
// what auth believes by default.
func TestComposeExposure(t *testing.T) {
	c := loadCompose(t)

	// Other machines reach the storefront and the five APIs (the course's web client calls
	// them directly); the stores, the broker and its management UI only from this machine.
	for name, s := range c.Services {
		isShop := slices.ContainsFunc(containers, func(svc struct{ name, port string }) bool { return svc.name == name })
		for _, mapping := range s.Ports {
			if !isShop {
				assert.True(t, strings.HasPrefix(mapping, "127.0.0.1:"), "%s publishes %s on loopback only", name, mapping)
			}
		}
	}

	// Every service serves /metrics to allowed peers only, none of them public.
	for _, svc := range containers {
		allow := interpolate(c.Services[svc.name].Environment["METRICS_ALLOW"])
		require.NotEmpty(t, allow, "%s sets METRICS_ALLOW", svc.name)
		for item := range strings.SplitSeq(allow, ",") {
			addr, err := netip.ParseAddr(strings.TrimSpace(item))
			require.NoError(t, err, "%s: METRICS_ALLOW %q", svc.name, allow)
			assert.True(t, addr.IsLoopback() || addr.IsPrivate(), "%s: /metrics to %s", svc.name, addr)
		}
	}

	// auth starts in production by default, where the example secrets below are refused
	// (auth's TestRunRefusesPublishedExamples reads them from this file); they are marked as
	// placeholders, so an edited example is refused too.
	auth := c.Services["auth"].Environment
	assert.Equal(t, "production", interpolate(auth["APP_ENV"]))
	assert.Contains(t, auth["APP_ENV"], "${APP_ENV", "APP_ENV=development can be given on the command line")
	assert.Contains(t, interpolate(auth["JWT_SECRET"]), "change-me")
	assert.Contains(t, interpolate(auth["AUTH_BOOTSTRAP_ADMIN"]), "change-me")

	// auth believes X-Forwarded-For from the storefront only: its fixed address, in the
	// network's subnet but out of the range other containers get addresses from.
	web := c.Services["web"].Networks["default"].IPv4Address
	require.NotEmpty(t, web, "the storefront has a fixed address")
	assert.Equal(t, web, auth["AUTH_TRUSTED_PROXIES"])
	webAddr := netip.MustParseAddr(web)
	require.Len(t, c.Networks["default"].IPAM.Config, 1)
	ipam := c.Networks["default"].IPAM.Config[0]
	assert.True(t, netip.MustParsePrefix(ipam.Subnet).Contains(webAddr), "%s in %s", web, ipam.Subnet)
	assert.False(t, netip.MustParsePrefix(ipam.IPRange).Contains(webAddr), "%s out of the dynamic range %s", web, ipam.IPRange)
}
