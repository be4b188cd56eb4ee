// Command orders runs the orders service (SPEC §3.5).
package main

import (
	"github.com/ecommerce-go/ecommerce/orders"
	"github.com/ecommerce-go/ecommerce/pkg/app"
)

func main() { app.Main(orders.Run) }
