package cart

import (
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// The fuzz targets of what the cart reads from outside: the body of POST /cart/article and the
// messages it consumes. Their corpora are in testdata/fuzz/.

func FuzzArticleAdd(f *testing.F) {
	fx := newFixture(f)
	fx.auth.Add("fuzz-token", "fuzz-user")
	testkit.FuzzBody(f, fx.URL, "POST", "/cart/article", "fuzz-token",
		`{"articleId":"5f1d7a3e9b1e8a2c3d4e5f60","quantity":2}`)
}

func FuzzCartQueue(f *testing.F) {
	fx := newFixture(f)
	testkit.FuzzHandler(f, handleCartQueue(fx.svc), []string{"article-valid", "article-data", "other"},
		`{"referenceId":"u1:1/1","articleId":"5f1d7a3e9b1e8a2c3d4e5f60","valid":true}`)
}

func FuzzCartOrderPlaced(f *testing.F) {
	fx := newFixture(f)
	testkit.FuzzHandler(f, handleOrderPlaced(fx.svc), []string{"order_placed"},
		`{"orderId":"o1","cartId":"u1:1","userId":"u1","articles":[{"articleId":"a1","quantity":1}]}`)
}
