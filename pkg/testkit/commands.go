package testkit

import (
	"context"
	"sync"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Command is one command a client sent to the store: its name, its collection, and the
// filters it selects documents with (none for an insert; one per statement of a bulk write).
type Command struct {
	Name       string
	Collection string
	Filters    []bson.Raw
	Pipeline   bool // an aggregation: it may read anything
}

// Commands records the commands a client sends, to check what an operation asks of the store.
type Commands struct {
	mu   sync.Mutex
	list []Command
}

// RecordingMongo returns a fresh database on the MongoDB-wire server (as Mongo does) reached by
// a client that records every command it sends.
func RecordingMongo(t testing.TB) (*mongo.Database, *Commands) {
	t.Helper()
	db := Mongo(t)
	rec := &Commands{}
	monitor := &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		rec.add(commandOf(e))
	}}
	client, err := mongo.Connect(options.Client().ApplyURI(MongoURL(t)).SetMonitor(monitor))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Disconnect(context.Background()) })
	return client.Database(db.Name()), rec
}

func (c *Commands) add(cmd Command) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = append(c.list, cmd)
}

// During runs f and returns the commands sent meanwhile.
func (c *Commands) During(f func()) []Command {
	c.mu.Lock()
	before := len(c.list)
	c.mu.Unlock()
	f()
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Command(nil), c.list[before:]...)
}

// commandOf reads the name, collection and filters of a command.
func commandOf(e *event.CommandStartedEvent) Command {
	cmd := Command{Name: e.CommandName}
	if v, err := e.Command.IndexErr(0); err == nil {
		cmd.Collection, _ = v.Value().StringValueOK()
	}
	filter := func(doc bson.Raw, key string) {
		if f, ok := doc.Lookup(key).DocumentOK(); ok {
			cmd.Filters = append(cmd.Filters, f)
		}
	}
	statements := func(key, filterKey string) {
		arr, _ := e.Command.Lookup(key).ArrayOK()
		values, _ := arr.Values()
		for _, v := range values {
			if doc, ok := v.DocumentOK(); ok {
				filter(doc, filterKey)
			}
		}
	}
	switch e.CommandName {
	case "find":
		filter(e.Command, "filter")
	case "count", "distinct", "findAndModify":
		filter(e.Command, "query")
	case "update":
		statements("updates", "q")
	case "delete":
		statements("deletes", "q")
	case "aggregate":
		cmd.Pipeline = true
	}
	return cmd
}

// Reads tells whether the command selects documents (a query, an update, a delete).
func (c Command) Reads() bool {
	return c.Pipeline || len(c.Filters) > 0 || c.Name == "find" || c.Name == "count" || c.Name == "distinct"
}

// ByID tells whether every document the command selects is named by its exact _id (one, or a
// list with $in): a lookup whose cost does not grow with the collection on any server.
func (c Command) ByID() bool {
	if c.Pipeline || (c.Reads() && len(c.Filters) == 0) {
		return false
	}
	for _, f := range c.Filters {
		elems, err := f.Elements()
		if err != nil || len(elems) != 1 || elems[0].Key() != "_id" {
			return false
		}
		if op, ok := elems[0].Value().DocumentOK(); ok {
			if _, err := op.LookupErr("$in"); err != nil {
				return false
			}
			if ops, _ := op.Elements(); len(ops) != 1 {
				return false
			}
		}
	}
	return true
}
