// Command cart runs the cart service (SPEC §3.4).
package main

import (
	"github.com/ecommerce-go/ecommerce/cart"
	"github.com/ecommerce-go/ecommerce/pkg/app"
)

func main() { app.Main(cart.Run) }
