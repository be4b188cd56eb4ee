package image

import (
	"encoding/base64"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// cacheForever is the Cache-Control of every download: an image id never changes its picture.
const cacheForever = "public, max-age=31536000, immutable"

func handleCreate(log *slog.Logger, images *Images) http.Handler {
	type request struct {
		Image string `json:"image"`
	}
	type response struct {
		ID string `json:"id"`
	}
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		req, err := web.DecodeLimit[request](r, maxBodyBytes)
		if err != nil {
			return err
		}
		u, _ := tokens.UserFrom(r.Context()) // RequireUser has put them there
		id, err := images.Create(r.Context(), u.ID, req.Image)
		if err != nil {
			return err
		}
		web.Encode(w, http.StatusOK, response{ID: id})
		return nil
	})
}

// handleImage answers the picture as a base64 data URL: the original in its own format, or a
// JPEG variant when a size is asked for.
func handleImage(log *slog.Logger, images *Images) http.Handler {
	type response struct {
		ID    string `json:"id"`
		Image string `json:"image"`
	}
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, width, err := imageRequest(r)
		if err != nil {
			return err
		}
		var data []byte
		f := formatJPEG
		if width == 0 {
			data, f, err = images.Original(r.Context(), id)
		} else {
			data, err = images.JPEG(r.Context(), id, width)
		}
		if err != nil {
			return err
		}
		if notModified(w, r, etag(id, width, "json")) {
			return nil
		}
		web.Encode(w, http.StatusOK, response{
			ID:    id,
			Image: "data:image/" + string(f) + ";base64," + base64.StdEncoding.EncodeToString(data),
		})
		return nil
	})
}

// handleJPEG answers the picture as JPEG bytes (a PNG original is converted).
func handleJPEG(log *slog.Logger, images *Images) http.Handler {
	return web.Handle(log, func(w http.ResponseWriter, r *http.Request) error {
		id, width, err := imageRequest(r)
		if err != nil {
			return err
		}
		data, err := images.JPEG(r.Context(), id, width)
		if err != nil {
			return err
		}
		if notModified(w, r, etag(id, width, "jpeg")) {
			return nil
		}
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(data)
		return nil
	})
}

// imageRequest reads the image id of the path and the width asked for with ?Size=, ?size= or the
// Size header (0: the original).
func imageRequest(r *http.Request) (id string, width int, err error) {
	parsed, err := uuid.Parse(chi.URLParam(r, "id"))
	if err != nil {
		return "", 0, errs.Newf(errs.Invalid, "malformed image id (image ids are UUIDs)").WithCode(errs.CodeMalformedID)
	}
	q := r.URL.Query()
	size := q.Get("Size")
	if size == "" {
		size = q.Get("size")
	}
	if size == "" {
		size = r.Header.Get("Size")
	}
	return parsed.String(), parseSize(size), nil
}

// etag names one representation of one picture. Pictures never change and a variant is always
// computed the same way, so the name identifies the bytes: the tag can be strong.
func etag(id string, width int, representation string) string {
	return `"` + id + "-" + strconv.Itoa(width) + "-" + representation + `"`
}

// notModified sets the caching headers of a download and answers 304 when the client holds tag.
func notModified(w http.ResponseWriter, r *http.Request, tag string) bool {
	h := w.Header()
	h.Set("ETag", tag)
	h.Set("Cache-Control", cacheForever)
	h.Set("Vary", "Size") // the Size header picks the representation too
	if !matchesETag(r.Header.Get("If-None-Match"), tag) {
		return false
	}
	w.WriteHeader(http.StatusNotModified)
	return true
}

// matchesETag applies If-None-Match's weak comparison to a header holding "*" or a list of tags.
func matchesETag(header, tag string) bool {
	for candidate := range strings.SplitSeq(header, ",") {
		candidate = strings.TrimPrefix(strings.TrimSpace(candidate), "W/")
		if candidate == "*" || candidate == tag {
			return true
		}
	}
	return false
}
