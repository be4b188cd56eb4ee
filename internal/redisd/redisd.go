// Package redisd is the all-in-one launcher's stand-in for Redis (SPEC §5): a server speaking the
// Redis protocol (RESP2) with the handful of string commands the services use, whose keys are
// kept in memory and persisted to a folder, one file per key, so they survive a restart.
//
// It is not Redis: one database, string values only, no pub/sub or scripting. HELLO is refused,
// so clients fall back to RESP2.
package redisd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/tidwall/redcon"
)

// sweepEvery is how often expired keys are removed even when nobody reads them.
const sweepEvery = 30 * time.Second

// Server is a running Redis-protocol server.
type Server struct {
	ln     net.Listener
	log    *slog.Logger
	keys   *keyspace
	stop   context.CancelFunc
	served sync.WaitGroup
}

// Start loads the keys persisted in dir (created if missing) and serves them on addr until ctx
// is done or Close is called. An addr without a host ("":6390") listens on 127.0.0.1 only.
func Start(ctx context.Context, addr, dir string, log *slog.Logger) (*Server, error) {
	keys, err := openKeyspace(dir)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("redisd: address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("redisd: %w", err)
	}
	ctx, stop := context.WithCancel(ctx)
	s := &Server{ln: ln, log: log, keys: keys, stop: stop}
	srv := redcon.NewServer(ln.Addr().String(), s.handle, nil, nil)
	s.served.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
			log.Error("redisd stopped", "err", err)
		}
	})
	s.served.Go(func() {
		ticker := time.NewTicker(sweepEvery)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				_ = ln.Close() // Serve then returns, closing the open connections
				return
			case <-ticker.C:
				if err := keys.sweep(time.Now()); err != nil {
					log.Warn("redisd: removing expired keys", "err", err)
				}
			}
		}
	})
	log.Info("redisd listening", "addr", ln.Addr().String(), "dir", dir, "keys", keys.size(time.Now()))
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is a REDIS_URL that reaches the server.
func (s *Server) URL() string { return "redis://" + s.Addr() + "/0" }

// Close stops the server and waits until it has stopped. Every write was persisted as it was
// made, so there is nothing left to save.
func (s *Server) Close() error {
	s.stop()
	s.served.Wait()
	return nil
}
