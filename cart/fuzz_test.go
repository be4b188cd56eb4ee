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
	testkit.FuzzBody(f, fx.URL, "POST", "/cart/article", "fuzz-token", testkit.BodyCartLine)
}

func FuzzCartQueue(f *testing.F) {
	fx := newFixture(f)
	testkit.FuzzHandler(f, handleCartQueue(fx.svc), []string{"article-valid", "article-data", "other"},
		testkit.BodyArticleAnswer)
}

func FuzzCartOrderPlaced(f *testing.F) {
	fx := newFixture(f)
	testkit.FuzzHandler(f, handleOrderPlaced(fx.svc), []string{"order_placed"}, testkit.BodyOrder)
}
