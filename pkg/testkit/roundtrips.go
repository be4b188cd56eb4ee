package testkit

import (
	"context"
	"sync/atomic"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
)

// RoundTrips counts the commands a client sends to the store, each one round trip.
type RoundTrips struct{ n atomic.Int64 }

// During runs f and returns how many commands were sent meanwhile.
func (r *RoundTrips) During(f func()) int64 {
	before := r.n.Load()
	f()
	return r.n.Load() - before
}

// CountingMongo returns a fresh database on the MongoDB-wire server (as Mongo does) reached by
// a client that counts its round trips, to check what an operation costs the store.
func CountingMongo(t testing.TB) (*mongo.Database, *RoundTrips) {
	t.Helper()
	db := Mongo(t)
	counter := &RoundTrips{}
	client, err := mongox.Connect(context.Background(), MongoURL(t), func(string, string) { counter.n.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database(db.Name()), counter
}
