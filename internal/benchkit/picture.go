package benchkit

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
)

// Picture is a PNG data URL of w×h pixels, a soft two-colour gradient of a different hue for
// each n: an article's picture for the tests and measurements that stock a shop.
func Picture(n, w, h int) string {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	base := [][3]float64{{231, 111, 81}, {42, 157, 143}, {233, 196, 106}, {38, 70, 83}, {244, 162, 97}, {94, 96, 206}, {72, 149, 239}, {106, 153, 78}}[n%8]
	for x := range w {
		for y := range h {
			f := 0.55 + 0.45*float64(x+y)/float64(w+h)
			img.Set(x, y, color.RGBA{uint8(base[0] * f), uint8(base[1] * f), uint8(base[2] * f), 255})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // into memory: cannot fail
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}
