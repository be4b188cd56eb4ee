// Command web runs the storefront and admin console (SPEC §3.6).
package main

import (
	"github.com/ecommerce-go/ecommerce/pkg/app"
	"github.com/ecommerce-go/ecommerce/web"
)

func main() { app.Main(web.Run) }
