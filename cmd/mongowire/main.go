// Command mongowire runs a MongoDB-wire server (embedded FerretDB) until interrupted. The test
// command starts it on the machine's PostgreSQL when no MongoDB answers at MONGO_URL.
//
//	go run ./cmd/mongowire -addr 127.0.0.1:29018 -postgres postgres://postgres@127.0.0.1:5432/ferretdb_test
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/ecommerce-go/ecommerce/internal/mongowire"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:29018", "listen address (loopback)")
	postgres := flag.String("postgres", "", "PostgreSQL URL of the backend")
	sqlite := flag.String("sqlite", "", "folder of the SQLite backend (when -postgres is empty)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := mongowire.Start(ctx, mongowire.Options{Addr: *addr, PostgresURL: *postgres, SQLiteDir: *sqlite})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("mongowire listening:", srv.URI)
	<-srv.Done()
}
