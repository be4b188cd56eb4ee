package k8s

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// fleet is SPEC §1: every service and its port.
var fleet = map[string]int32{
	"auth": 3000, "image": 3001, "catalog": 3002, "cart": 3003, "orders": 3004, "web": 8080,
}

// needs is what each service reads to run against the real stores and the broker (SPEC §1).
var needs = map[string][]string{
	"auth":    {"PORT", "MONGO_URL", "RABBIT_URL", "JWT_SECRET", "AUTH_BOOTSTRAP_ADMIN"},
	"image":   {"PORT", "REDIS_URL", "RABBIT_URL", "AUTH_SERVICE_URL"},
	"catalog": {"PORT", "MONGO_URL", "RABBIT_URL", "AUTH_SERVICE_URL"},
	"cart":    {"PORT", "MONGO_URL", "RABBIT_URL", "AUTH_SERVICE_URL", "CATALOG_SERVICE_URL"},
	"orders":  {"PORT", "MONGO_URL", "RABBIT_URL", "AUTH_SERVICE_URL"},
	"web": {"PORT", "RABBIT_URL", "AUTH_SERVICE_URL", "IMAGE_SERVICE_URL", "CATALOG_SERVICE_URL",
		"CART_SERVICE_URL", "ORDERS_SERVICE_URL"},
}

// secretOnly are the variables that must come from the Secret, never from a ConfigMap or a
// literal; authOnly may appear in auth's Deployment only (SPEC §1).
var (
	secretOnly = []string{"JWT_SECRET", "AUTH_BOOTSTRAP_ADMIN", "RABBITMQ_USER", "RABBITMQ_PASSWORD"}
	authOnly   = []string{"JWT_SECRET", "AUTH_BOOTSTRAP_ADMIN"}
)

// newObject returns the typed object of the Kubernetes API a rendered kind decodes into; a kind
// missing here fails the test, so every object is checked against a real type.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + " " + kind {
	case "v1 Namespace":
		return &corev1.Namespace{}, nil
	case "v1 ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1 Secret":
		return &corev1.Secret{}, nil
	case "v1 Service":
		return &corev1.Service{}, nil
	case "v1 ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "apps/v1 Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1 StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "batch/v1 Job":
		return &batchv1.Job{}, nil
	case "policy/v1 PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2 HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "rbac.authorization.k8s.io/v1 Role":
		return &rbacv1.Role{}, nil
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		return &rbacv1.RoleBinding{}, nil
	case "networking.k8s.io/v1 NetworkPolicy":
		return &networkingv1.NetworkPolicy{}, nil
	}
	return nil, fmt.Errorf("no Kubernetes type for %s %s", apiVersion, kind)
}

// rendered is the kustomization's output, each object decoded strictly into its type.
type rendered struct {
	objects      []any
	deployments  map[string]*appsv1.Deployment
	services     map[string]*corev1.Service
	statefulSets map[string]*appsv1.StatefulSet
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	pdbs         map[string]*policyv1.PodDisruptionBudget
	hpas         map[string]*autoscalingv2.HorizontalPodAutoscaler
}

// render builds the kustomization of this folder as `kubectl apply -k` would, on an in-memory
// copy in which secrets.env is the committed example (the real one is never in git).
func render(t *testing.T) *rendered {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	require.NoError(t, filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile("/k/"+path, raw)
	}))
	example, err := os.ReadFile("secrets.env.example")
	require.NoError(t, err)
	require.NoError(t, mem.WriteFile("/k/secrets.env", example))

	resMap, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, "/k")
	require.NoError(t, err, "kustomize build")

	r := &rendered{
		deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{},
		statefulSets: map[string]*appsv1.StatefulSet{}, configMaps: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}, pdbs: map[string]*policyv1.PodDisruptionBudget{},
		hpas: map[string]*autoscalingv2.HorizontalPodAutoscaler{},
	}
	for _, res := range resMap.Resources() {
		raw, err := res.MarshalJSON()
		require.NoError(t, err)
		obj, err := newObject(res.GetApiVersion(), res.GetKind())
		require.NoError(t, err, res.CurId().String())
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		require.NoError(t, dec.Decode(obj), "%s: a field the Kubernetes API does not know", res.CurId())
		if res.GetKind() != "Namespace" {
			assert.Equal(t, "ecommerce", res.GetNamespace(), "%s is in the shop's namespace", res.CurId())
		}
		r.objects = append(r.objects, obj)
		name := res.GetName()
		switch o := obj.(type) {
		case *appsv1.Deployment:
			r.deployments[name] = o
		case *corev1.Service:
			r.services[name] = o
		case *appsv1.StatefulSet:
			r.statefulSets[name] = o
		case *corev1.ConfigMap:
			r.configMaps[name] = o
		case *corev1.Secret:
			r.secrets[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			r.pdbs[name] = o
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas[name] = o
		}
	}
	return r
}

// TestStrictDecodeCatchesUnknownFields shows the decoding above would catch a misspelt field.
func TestStrictDecodeCatchesUnknownFields(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"spec":{"replicas":2,"replica":3}}`))
	dec.DisallowUnknownFields()
	assert.ErrorContains(t, dec.Decode(&appsv1.Deployment{}), `unknown field "replica"`)
}

func TestEveryServiceHasItsObjects(t *testing.T) {
	r := render(t)
	for name, port := range fleet {
		t.Run(name, func(t *testing.T) {
			d := r.deployments[name]
			require.NotNil(t, d, "Deployment")
			assert.Equal(t, int32(2), *d.Spec.Replicas)
			pod := d.Spec.Template.Spec
			require.Len(t, pod.Containers, 1)
			c := pod.Containers[0]
			assert.Equal(t, "ecommerce/"+name+":latest", c.Image)
			require.Len(t, c.Ports, 1)
			assert.Equal(t, port, c.Ports[0].ContainerPort)
			assert.Equal(t, "http", c.Ports[0].Name)

			require.NotNil(t, c.ReadinessProbe, "readiness probe")
			require.NotNil(t, c.ReadinessProbe.HTTPGet)
			assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			assert.Equal(t, "http", c.ReadinessProbe.HTTPGet.Port.String())
			require.NotNil(t, c.LivenessProbe, "liveness probe")
			require.NotNil(t, c.LivenessProbe.HTTPGet)
			assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
			assert.Equal(t, "http", c.LivenessProbe.HTTPGet.Port.String())

			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				request, limit := c.Resources.Requests[res], c.Resources.Limits[res]
				assert.False(t, request.IsZero(), "request of %s", res)
				assert.False(t, limit.IsZero(), "limit of %s", res)
			}
			require.NotNil(t, pod.SecurityContext)
			assert.True(t, *pod.SecurityContext.RunAsNonRoot, "non-root")
			assert.NotZero(t, *pod.SecurityContext.RunAsUser)
			require.NotNil(t, c.SecurityContext)
			assert.True(t, *c.SecurityContext.ReadOnlyRootFilesystem, "read-only root filesystem")
			assert.False(t, *c.SecurityContext.AllowPrivilegeEscalation)

			s := r.services[name]
			require.NotNil(t, s, "Service")
			assert.Equal(t, d.Spec.Selector.MatchLabels, s.Spec.Selector)
			require.Len(t, s.Spec.Ports, 1)
			assert.Equal(t, port, s.Spec.Ports[0].Port)
			assert.Equal(t, "http", s.Spec.Ports[0].TargetPort.String())

			pdb := r.pdbs[name]
			require.NotNil(t, pdb, "PodDisruptionBudget")
			assert.Equal(t, d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels)
			assert.Equal(t, 1, pdb.Spec.MinAvailable.IntValue())

			hpa := r.hpas[name]
			require.NotNil(t, hpa, "HorizontalPodAutoscaler")
			assert.Equal(t, "Deployment", hpa.Spec.ScaleTargetRef.Kind)
			assert.Equal(t, name, hpa.Spec.ScaleTargetRef.Name)
			assert.Equal(t, int32(2), *hpa.Spec.MinReplicas)
			assert.Greater(t, hpa.Spec.MaxReplicas, int32(2))
		})
	}
	assert.Len(t, r.deployments, len(fleet), "no Deployment beyond the fleet")
}

// TestEnvironment checks each service's variables against SPEC §1: every one it needs is set,
// the URLs point at the in-cluster Services on the SPEC ports, and secrets come from the Secret.
func TestEnvironment(t *testing.T) {
	r := render(t)
	config := r.configMaps["ecommerce-config"]
	require.NotNil(t, config)
	var secret *corev1.Secret
	for name, s := range r.secrets {
		if strings.HasPrefix(name, "ecommerce-secrets") {
			secret = s
		}
	}
	require.NotNil(t, secret, "the generated ecommerce-secrets Secret")

	for svc, port := range fleet {
		if svc == "web" {
			continue
		}
		assert.Equal(t, fmt.Sprintf("http://%s:%d", svc, port), config.Data[strings.ToUpper(svc)+"_SERVICE_URL"])
	}
	assert.Equal(t, "redis://redis:6379/0", config.Data["REDIS_URL"])
	assert.Contains(t, config.Data["MONGO_URL"], "replicaSet=rs0")
	for _, member := range []string{"mongo-0.mongo:27017", "mongo-1.mongo:27017", "mongo-2.mongo:27017"} {
		assert.Contains(t, config.Data["MONGO_URL"], member)
	}
	for _, key := range secretOnly {
		assert.NotContains(t, config.Data, key, "%s belongs in the Secret", key)
	}

	for name, d := range r.deployments {
		t.Run(name, func(t *testing.T) {
			env := d.Spec.Template.Spec.Containers[0].Env
			set := map[string]corev1.EnvVar{}
			for _, e := range env {
				set[e.Name] = e
			}
			for _, v := range needs[name] {
				assert.Contains(t, set, v, "%s needs %s", name, v)
			}
			assert.Equal(t, fmt.Sprint(fleet[name]), set["PORT"].Value)
			for _, e := range env {
				switch {
				case e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil:
					ref := e.ValueFrom.ConfigMapKeyRef
					assert.Equal(t, config.Name, ref.Name)
					assert.Contains(t, config.Data, ref.Key, "%s reads a key the ConfigMap has", e.Name)
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					ref := e.ValueFrom.SecretKeyRef
					assert.Equal(t, secret.Name, ref.Name, "the generated Secret, hash and all")
					assert.Contains(t, secret.Data, ref.Key, "%s reads a key the Secret has", e.Name)
				default:
					assert.NotContains(t, secretOnly, e.Name, "%s comes from the Secret", e.Name)
				}
				if slices.Contains(authOnly, e.Name) {
					assert.Equal(t, "auth", name, "%s is auth's only (SPEC §1)", e.Name)
				}
			}
			assert.Equal(t, "amqp://$(RABBITMQ_USER):$(RABBITMQ_PASSWORD)@rabbitmq:5672/", set["RABBIT_URL"].Value)
			assert.Less(t, slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == "RABBITMQ_PASSWORD" }),
				slices.IndexFunc(env, func(e corev1.EnvVar) bool { return e.Name == "RABBIT_URL" }),
				"$(VAR) expands only variables defined earlier")
		})
	}
}

// Issue "one shopper must not hurt the others", finding (c): auth counts people's addresses
// behind the storefront and the Ingress (it trusts the pod network's X-Forwarded-For, never
// the whole world's), no service runs as a developer's (APP_ENV=development accepts the
// example secrets), and /metrics is not opened to public addresses.
func TestExposure(t *testing.T) {
	r := render(t)
	config := r.configMaps["ecommerce-config"]
	require.NotNil(t, config)
	auth := map[string]corev1.EnvVar{}
	for _, e := range r.deployments["auth"].Spec.Template.Spec.Containers[0].Env {
		auth[e.Name] = e
	}
	ref := auth["AUTH_TRUSTED_PROXIES"].ValueFrom
	require.NotNil(t, ref, "auth reads AUTH_TRUSTED_PROXIES")
	require.NotNil(t, ref.ConfigMapKeyRef)
	trusted := config.Data[ref.ConfigMapKeyRef.Key]
	for item := range strings.SplitSeq(trusted, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(item))
		require.NoError(t, err, "AUTH_TRUSTED_PROXIES %q", trusted)
		assert.True(t, p.Addr().IsPrivate(), "%s is a private network", p)
		assert.GreaterOrEqual(t, p.Bits(), 12, "%s is not a whole address family", p)
	}
	for name, d := range r.deployments {
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			assert.False(t, e.Name == "APP_ENV" && e.Value == "development", "%s runs as a developer's", name)
			if e.Name == "METRICS_ALLOW" {
				for item := range strings.SplitSeq(e.Value, ",") {
					p, err := netip.ParsePrefix(strings.TrimSpace(item))
					if err != nil {
						p, err = netip.ParsePrefix(strings.TrimSpace(item) + "/32")
					}
					require.NoError(t, err)
					assert.True(t, p.Addr().IsPrivate() || p.Addr().IsLoopback(), "%s: /metrics to %s", name, p)
				}
			}
		}
	}
}

// TestStores checks the backing services: MongoDB a 3-member replica set, RabbitMQ a 3-node
// cluster, Redis one persistent node, each with Services on the ports the ConfigMap names.
func TestStores(t *testing.T) {
	r := render(t)
	mongo := r.statefulSets["mongo"]
	require.NotNil(t, mongo)
	assert.Equal(t, int32(3), *mongo.Spec.Replicas)
	assert.Equal(t, []string{"--replSet", "rs0", "--bind_ip_all"}, mongo.Spec.Template.Spec.Containers[0].Args)
	assert.Equal(t, corev1.ClusterIPNone, r.services["mongo"].Spec.ClusterIP, "headless: a DNS name per member")

	rabbit := r.statefulSets["rabbitmq"]
	require.NotNil(t, rabbit)
	assert.Equal(t, int32(3), *rabbit.Spec.Replicas)
	assert.Contains(t, r.configMaps["rabbitmq-config"].Data["rabbitmq.conf"], "peer_discovery_backend = k8s")
	assert.Equal(t, int32(5672), r.services["rabbitmq"].Spec.Ports[0].Port)

	redis := r.statefulSets["redis"]
	require.NotNil(t, redis)
	assert.Equal(t, int32(6379), r.services["redis"].Spec.Ports[0].Port)

	for name, s := range r.statefulSets {
		assert.NotEmpty(t, s.Spec.VolumeClaimTemplates, "%s keeps its data on a persistent volume", name)
		assert.NotNil(t, s.Spec.Template.Spec.Containers[0].ReadinessProbe, "%s readiness", name)
	}
}
