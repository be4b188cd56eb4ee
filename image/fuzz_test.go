package image

import (
	"bytes"
	"errors"
	stdimage "image"
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// FuzzUpload feeds arbitrary data URLs through everything an upload goes through. Whatever the
// input, the answer is an Invalid or TooLarge error, or a JPEG or PNG within the limits that
// converts to a JPEG thumbnail. The seed corpus runs with every `go test`; fuzz with
// `go test -fuzz FuzzUpload -run '^$'`.
func FuzzUpload(f *testing.F) {
	small := photo(24, 16)
	jpegData, pngData := encodeJPEG(f, small), encodePNG(f, small)
	for _, seed := range []string{
		dataURL("image/jpeg", jpegData),
		dataURL("image/png", pngData),
		dataURL("image/jpeg", pngData),
		dataURL("image/gif", encodeGIF(f, small)),
		dataURL("image/jpeg", jpegData[:len(jpegData)/2]),
		dataURL("image/png", pngData[:len(pngData)-20]),
		dataURL("image/jpeg", withJPEGSize(f, jpegData, 30_000, 30_000)),
		dataURL("image/png", bombPNG(f, 12_000, 100)),
		dataURL("image/png", []byte("\x89PNG\r\n\x1a\n")),
		dataURL("image/jpeg", []byte("\xff\xd8\xff")),
		"data:image/png;base64,",
		"data:image/png;base64,@@@@",
		"data:,",
		"data:image/png,plain",
		"iVBORw0KGgo=",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		data, err := parseDataURL(in)
		if err != nil {
			requireUploadError(t, err)
			return
		}
		h, err := inspect(data)
		if err != nil {
			requireUploadError(t, err)
			return
		}
		// Decoding a large picture costs time, not new code paths: keep the fuzzer fast.
		if cfg, _, _ := stdimage.DecodeConfig(bytes.NewReader(data)); cfg.Width*cfg.Height > 1<<20 {
			return
		}
		img, err := decodePixels(h, data)
		if err != nil {
			requireUploadError(t, err)
			return
		}
		size := img.Bounds().Size()
		if size.X > MaxSide || size.Y > MaxSide {
			t.Fatalf("accepted a %v image", size)
		}
		thumb, err := convertJPEG(data, 160)
		if err != nil {
			t.Fatalf("an accepted upload does not convert: %v", err)
		}
		if _, ok := sniff(thumb); !ok || !bytes.HasPrefix(thumb, []byte("\xff\xd8")) {
			t.Fatal("the thumbnail is not a JPEG")
		}
	})
}

func requireUploadError(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, errs.Invalid) && !errors.Is(err, errs.TooLarge) {
		t.Fatalf("want an Invalid or TooLarge error, got %v", err)
	}
}
