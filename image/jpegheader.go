package image

import (
	"bytes"
	"encoding/binary"
	stdimage "image"

	"github.com/disintegration/imaging"
)

// jpegLayout is what the memory to decode a JPEG depends on, read from its frame header.
type jpegLayout struct {
	progressive bool
	// planes is the bytes per pixel of the decoded colour planes: 1 for gray, 3 for full
	// resolution colour, 1.5 for the usual 4:2:0 (chroma at a quarter of the pixels), 4 for CMYK.
	planes float64
}

// bytesPerPixel estimates the memory decoding takes per pixel. A progressive JPEG also holds
// every DCT coefficient until its last scan: 2 bytes per plane sample. CMYK is decoded to
// planes and then converted, which holds a second 4-byte copy.
func (l jpegLayout) bytesPerPixel() float64 {
	n := l.planes
	if l.progressive {
		n += 2 * l.planes
	}
	if l.planes >= 4 {
		n += 4
	}
	return n
}

// worstJPEGLayout is assumed when a frame header cannot be read (the decoder refuses those anyway).
var worstJPEGLayout = jpegLayout{progressive: true, planes: 4}

// readJPEGLayout walks a JPEG's marker segments up to its first scan and returns its layout
// and EXIF orientation (1 when absent).
func readJPEGLayout(data []byte) (layout jpegLayout, orientation int) {
	layout, orientation = worstJPEGLayout, 1
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xFF {
			return layout, orientation
		}
		marker := data[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8): // no length
			i += 2
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return layout, orientation
		}
		length := int(binary.BigEndian.Uint16(data[i+2:]))
		end := i + 2 + length
		if length < 2 || end > len(data) {
			return layout, orientation
		}
		segment := data[i+4 : end]
		switch marker {
		case 0xC0, 0xC1, 0xC2:
			if l, ok := frameLayout(segment, marker == 0xC2); ok {
				layout = l
			}
		case 0xE1:
			if o := exifOrientation(segment); o != 0 {
				orientation = o
			}
		}
		i = end
	}
	return layout, orientation
}

// frameLayout reads a start-of-frame segment: precision, height, width, then per component
// an id, its sampling factors (horizontal << 4 | vertical) and a table number.
func frameLayout(segment []byte, progressive bool) (jpegLayout, bool) {
	if len(segment) < 6 {
		return jpegLayout{}, false
	}
	n := int(segment[5])
	if n < 1 || len(segment) < 6+3*n {
		return jpegLayout{}, false
	}
	var maxH, maxV int
	for c := range n {
		f := segment[6+3*c+1]
		maxH, maxV = max(maxH, int(f>>4)), max(maxV, int(f&0x0F))
	}
	if maxH == 0 || maxV == 0 {
		return jpegLayout{}, false
	}
	var planes float64
	for c := range n {
		f := segment[6+3*c+1]
		planes += float64(int(f>>4)*int(f&0x0F)) / float64(maxH*maxV)
	}
	if n == 4 {
		planes = 4
	}
	return jpegLayout{progressive: progressive, planes: planes}, true
}

// exifOrientation returns the orientation tag (1–8) of an APP1 Exif segment, or 0.
func exifOrientation(segment []byte) int {
	tiff, ok := bytes.CutPrefix(segment, []byte("Exif\x00\x00"))
	if !ok || len(tiff) < 8 {
		return 0
	}
	var order binary.ByteOrder
	switch string(tiff[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 0
	}
	ifd := int(order.Uint32(tiff[4:]))
	if ifd < 8 || ifd+2 > len(tiff) {
		return 0
	}
	entries := int(order.Uint16(tiff[ifd:]))
	for e := range entries {
		at := ifd + 2 + 12*e
		if at+12 > len(tiff) {
			return 0
		}
		if order.Uint16(tiff[at:]) == 0x0112 { // Orientation, a SHORT
			if o := int(order.Uint16(tiff[at+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 0
		}
	}
	return 0
}

// upright turns img as EXIF orientation o says, so it shows right without its EXIF.
func upright(img stdimage.Image, o int) stdimage.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}
