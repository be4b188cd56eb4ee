package fleet

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ecommerce-go/ecommerce/pkg/config"
)

// TestListenHost: the one-command fleet listens on loopback unless LISTEN_HOST says otherwise.
func TestListenHost(t *testing.T) {
	for set, want := range map[string]string{"": "127.0.0.1", "0.0.0.0": "0.0.0.0", "::1": "::1", "192.168.1.5": "192.168.1.5"} {
		host, share := listenHost(config.Env{Getenv: func(k string) string {
			if k == "LISTEN_HOST" {
				return set
			}
			return ""
		}})
		assert.Equal(t, want, host, "LISTEN_HOST=%q", set)
		assert.Contains(t, share, want)
	}
}
