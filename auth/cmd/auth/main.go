// Command auth runs the auth service. `auth grant <login> <permission>` gives a permission to a
// user instead (for example the first admin) and exits.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ecommerce-go/ecommerce/auth"
	"github.com/ecommerce-go/ecommerce/pkg/app"
)

func main() {
	args := os.Args[1:]
	switch {
	case len(args) == 0:
		app.Main(auth.Run)
	case len(args) == 3 && args[0] == "grant":
		app.Main(func(ctx context.Context, opts app.Options) error {
			return auth.Grant(ctx, opts, args[1], args[2])
		})
	default:
		fmt.Fprintln(os.Stderr, "usage: auth                             run the service\n"+
			"       auth grant <login> <permission>  give a permission to a user")
		os.Exit(2)
	}
}
