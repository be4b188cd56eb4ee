package image

import (
	_ "embed"
	"log/slog"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// openAPI is the service's API document, served at /openapi.json: a copy of
// deploy/openapi/image.json that TestOpenAPI keeps equal to it.
//
//go:generate cp ../deploy/openapi/image.json openapi.json
//go:embed openapi.json
var openAPI []byte

// Deps is what the image HTTP server needs.
type Deps struct {
	web.Basics
	Tokens *tokens.Checker
	Images *Images
}

// NewServer returns the image service's HTTP API with the operational endpoints and its docs.
func NewServer(d Deps) http.Handler {
	r := d.Router(openAPI)
	addRoutes(r, d.Log, d.Images, d.Tokens)
	return r
}

// addRoutes is the whole API of the service (SPEC §3.2). Uploads need a signed-in user;
// downloads are public.
func addRoutes(r chi.Router, log *slog.Logger, images *Images, checker *tokens.Checker) {
	r.With(checker.RequireUser(log)).Method(http.MethodPost, "/images/create", handleCreate(log, images))
	r.Method(http.MethodGet, "/images/{id}", handleImage(log, images))
	r.Method(http.MethodGet, "/images/{id}/jpeg", handleJPEG(log, images))
}
