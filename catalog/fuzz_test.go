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
	testkit.FuzzBody(f, srv.URL, "POST", "/articles", adminToken, testkit.BodyArticle)
}

func FuzzArticleUpdate(f *testing.F) {
	api := newTestAPI(f)
	a := api.create("Lamp", "A desk lamp", "12.5", 3)
	srv := httptest.NewServer(api.handler)
	f.Cleanup(srv.Close)
	testkit.FuzzBody(f, srv.URL, "POST", "/articles/"+a.ID, adminToken, testkit.BodyArticle)
}

func FuzzCatalogRequests(f *testing.F) {
	h := handleCatalogRequest(newTestStore(f), newArticleView(), bus.NewMemory(contract.Topology))
	testkit.FuzzHandler(f, h, []string{contract.TypeArticleValid, contract.TypeArticleData, "other"},
		testkit.BodyArticleRequest)
}

func FuzzOrderPlaced(f *testing.F) {
	h := handleOrderPlaced(testkit.Logger(f), newTestStore(f), bus.NewMemory(contract.Topology))
	testkit.FuzzHandler(f, h, []string{contract.TypeOrderPlaced}, testkit.BodyOrder)
}
