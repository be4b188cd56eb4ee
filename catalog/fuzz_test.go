package catalog

import (
	"net/http/httptest"
	"testing"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
)

// The fuzz targets of what the catalog reads from outside: the article bodies of its REST API
// and the messages it consumes. Their corpora are in testdata/fuzz/.

func FuzzArticleCreate(f *testing.F) {
	api := newTestAPI(f)
	srv := httptest.NewServer(api.handler)
	f.Cleanup(srv.Close)
	testkit.FuzzBody(f, srv.URL, "POST", "/articles", adminToken,
		`{"name":"Lamp","description":"A desk lamp","image":"","price":12.5,"stock":3}`)
}

func FuzzArticleUpdate(f *testing.F) {
	api := newTestAPI(f)
	a := api.create("Lamp", "A desk lamp", "12.5", 3)
	srv := httptest.NewServer(api.handler)
	f.Cleanup(srv.Close)
	testkit.FuzzBody(f, srv.URL, "POST", "/articles/"+a.ID, adminToken, `{"name":"Big lamp","stock":2}`)
}

func FuzzCatalogRequests(f *testing.F) {
	h := handleCatalogRequest(newTestStore(f), newArticleView(), bus.NewMemory(contract.Topology))
	testkit.FuzzHandler(f, h, []string{contract.TypeArticleValid, contract.TypeArticleData, "other"},
		`{"referenceId":"r1","articleId":"5f1d7a3e9b1e8a2c3d4e5f60"}`)
}

func FuzzOrderPlaced(f *testing.F) {
	h := handleOrderPlaced(testkit.Logger(f), newTestStore(f), bus.NewMemory(contract.Topology))
	testkit.FuzzHandler(f, h, []string{contract.TypeOrderPlaced},
		`{"orderId":"o1","cartId":"c1","userId":"u1","articles":[{"articleId":"5f1d7a3e9b1e8a2c3d4e5f60","quantity":1}]}`)
}
