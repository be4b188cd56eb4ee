package testkit_test

import (
	"net"
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// TestRabbitNodeRestarts kills the node, starts it again and stops it (each boot costs seconds of
// CPU: it boots twice).
func TestRabbitNodeRestarts(t *testing.T) {
	n := testkit.StartRabbitNode(t, 5693)
	dial := func() error {
		c, err := net.Dial("tcp", "127.0.0.1:5693")
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	n.Kill()
	if dial() == nil {
		t.Fatal("node still accepts connections after Kill")
	}
	n.Start()
	if err := dial(); err != nil {
		t.Fatal(err)
	}
	n.Stop()
	if dial() == nil {
		t.Fatal("node still accepts connections after Stop")
	}
}
