package image

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// Run wires the service together: uploads reach Redis under the configured prefix, tokens are
// checked with auth and cached, a logout broadcast evicts a token, and cancelling stops it.
func TestRun(t *testing.T) {
	client, prefix := testkit.Redis(t)
	auth := testkit.NewAuth(t)
	auth.Add(testToken, "user-1")
	broker := bus.NewMemory(contract.Topology)
	t.Cleanup(func() { _ = broker.Close() }) // after the service has stopped

	base := testkit.RunService(t, Run, map[string]string{
		"REDIS_URL":          os.Getenv("REDIS_URL"),
		"AUTH_SERVICE_URL":   auth.URL,
		"IMAGE_REDIS_PREFIX": prefix,
	}, broker)

	upload := func() *http.Response {
		body, _ := json.Marshal(map[string]string{"image": dataURL("image/png", encodePNG(t, photo(40, 30)))})
		req, _ := http.NewRequest(http.MethodPost, base+"/images/create", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := upload()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var created struct{ ID string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&created))
	assert.EqualValues(t, 1, client.Exists(t.Context(), prefix+created.ID).Val(), "stored under the prefix")

	resp, err := http.Get(base + "/images/" + created.ID + "/jpeg?size=160")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/jpeg", resp.Header.Get("Content-Type"))

	auth.Revoke(testToken)
	assert.Equal(t, http.StatusOK, upload().StatusCode, "the token is cached")
	testkit.Eventually(t, 10*time.Second, func() bool {
		// Published again until the listener, which starts on its own time, has heard it.
		require.NoError(t, bus.Send(t.Context(), broker, "auth", "", "logout", testToken))
		return upload().StatusCode == http.StatusUnauthorized
	}, "logout evicts the token")
}
