// Command image runs the image service (SPEC §3.2).
package main

import (
	"github.com/ecommerce-go/ecommerce/image"
	"github.com/ecommerce-go/ecommerce/pkg/app"
)

func main() { app.Main(image.Run) }
