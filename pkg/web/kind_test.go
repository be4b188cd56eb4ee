package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// KindOf reads the status table backwards: the kind a client gets back from a status is one
// that the server answers with that very status.
func TestKindOf(t *testing.T) {
	for _, kind := range []error{errs.Invalid, errs.Unauthorized, errs.Forbidden, errs.NotFound, errs.Conflict,
		errs.TooLarge, errs.Unsupported, errs.RateLimited, errs.TimedOut, errs.Unavailable} {
		status := web.StatusOf(kind)
		assert.ErrorIs(t, web.KindOf(status), kind, status)
	}
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusTeapot} {
		assert.ErrorIs(t, web.KindOf(status), errs.Unavailable, status)
	}
}
