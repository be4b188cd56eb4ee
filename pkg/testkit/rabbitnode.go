package testkit

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// RabbitNode is a disposable RabbitMQ node of a test's own — own node name, ports and data
// folder — that the test may stop and start at will. The machine's shared broker is never touched.
type RabbitNode struct {
	t       testing.TB
	name    string
	port    int
	dir     string
	URL     string
	baseEnv []string
	stopped bool
}

// StartRabbitNode starts a fresh RabbitMQ node on port (AMQP) and port+20000 (distribution),
// stopped and removed when the test ends. It takes a few seconds.
func StartRabbitNode(t testing.TB, port int) *RabbitNode {
	t.Helper()
	if _, err := exec.LookPath("rabbitmq-server"); err != nil {
		unavailable(t, "rabbitmq-server", err)
	}
	dir, err := os.MkdirTemp("", "rabbitnode-")
	if err != nil {
		t.Fatal(err)
	}
	n := &RabbitNode{t: t, name: fmt.Sprintf("test%d@localhost", port), port: port, dir: dir,
		URL: fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", port)}
	conf := fmt.Sprintf("listeners.tcp.local = 127.0.0.1:%d\n", port)
	must(t, os.MkdirAll(filepath.Join(dir, "mnesia"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "log"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "rabbitmq.conf"), []byte(conf), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte("[].\n"), 0o644))
	chownToRabbit(t, dir)
	n.baseEnv = append(os.Environ(),
		"RABBITMQ_NODENAME="+n.name,
		"RABBITMQ_NODE_PORT="+strconv.Itoa(port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(port+20000),
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"),
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
	)
	t.Cleanup(func() {
		n.Stop()
		_ = os.RemoveAll(dir)
	})
	n.Start()
	return n
}

// Start starts the node (again) on its data folder and waits until it accepts connections.
func (n *RabbitNode) Start() {
	n.t.Helper()
	n.run("rabbitmq-server", "-detached")
	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.port), time.Second)
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("rabbit node %s did not start: %v", n.name, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The AMQP listener opens before the node finishes booting; wait for the broker to be up.
	n.run("rabbitmqctl", "-n", n.name, "await_startup")
	n.stopped = false
}

// Stop stops the node; its durable queues and persistent messages stay in its data folder.
func (n *RabbitNode) Stop() {
	if n.stopped {
		return
	}
	n.run("rabbitmqctl", "-n", n.name, "stop")
	n.stopped = true
}

// Kill ends the node at once with SIGKILL, as a crash or the OOM killer would: nothing is
// flushed or closed cleanly. Start starts it again on what its data folder holds.
func (n *RabbitNode) Kill() {
	n.t.Helper()
	out := n.run("rabbitmqctl", "-n", n.name, "eval", "list_to_integer(os:getpid()).")
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		n.t.Fatalf("rabbit node %s: pid from %q: %v", n.name, out, err)
	}
	must(n.t, syscall.Kill(pid, syscall.SIGKILL))
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			n.t.Fatalf("rabbit node %s (pid %d) still there 30s after SIGKILL", n.name, pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.stopped = true
}

func (n *RabbitNode) run(name string, args ...string) []byte {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = n.baseEnv
	cmd.Dir = n.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		n.t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return out
}

// chownToRabbit lets the rabbitmq user (which the server scripts switch to when run as root)
// write the node's folder.
func chownToRabbit(t testing.TB, dir string) {
	u, err := user.Lookup("rabbitmq")
	if err != nil || os.Geteuid() != 0 {
		return
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	_ = filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Chown(path, uid, gid)
		}
		return err
	})
	must(t, os.Chmod(dir, 0o755))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
