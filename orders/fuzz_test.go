package orders

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/bus"
	"github.com/ecommerce-go/ecommerce/pkg/contract"
	"github.com/ecommerce-go/ecommerce/pkg/metrics"
	"github.com/ecommerce-go/ecommerce/pkg/testkit"
	"github.com/ecommerce-go/ecommerce/pkg/tokens"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// The fuzz targets of what orders reads from outside: the payment body of its REST API and the
// messages it consumes. Their corpora are in testdata/fuzz/.

func FuzzPayment(f *testing.F) {
	svc, _ := newService(f, bus.NewMemory(contract.Topology))
	o := mustPlace(f, svc, "fuzz-cart", "alice", Line{ArticleID: "5f1d7a3e9b1e8a2c3d4e5f60", Quantity: 1})
	auth := testkit.NewAuth(f)
	auth.Add("ta", "alice")
	srv := httptest.NewServer(NewServer(Deps{
		Basics: web.Basics{Log: testkit.Logger(f), Metrics: metrics.New("orders")},
		Tokens: tokens.NewChecker(auth.URL, time.Minute), Service: svc,
	}))
	f.Cleanup(srv.Close)
	testkit.FuzzBody(f, srv.URL, "POST", "/orders/"+o.ID+"/payment", "ta", testkit.BodyPayment)
}

func FuzzOrderQueue(f *testing.F) {
	svc, _ := newService(f, bus.NewMemory(contract.Topology))
	testkit.FuzzHandler(f, handleOrderQueue(svc), []string{"place_order", "article-data", "other"},
		testkit.BodyOrder, testkit.BodyArticleAnswer)
}

func FuzzStatusJob(f *testing.F) {
	svc, _ := newService(f, bus.NewMemory(contract.Topology))
	testkit.FuzzHandler(f, handleStatusJob(svc, time.Minute), []string{"status_job"}, testkit.BodyStatusJob)
}
