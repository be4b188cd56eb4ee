// Command catalog runs the catalog service alone.
package main

import (
	"github.com/ecommerce-go/ecommerce/catalog"
	"github.com/ecommerce-go/ecommerce/pkg/app"
)

func main() { app.Main(catalog.Run) }
