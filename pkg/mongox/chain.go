package mongox

import (
	"context"
	"errors"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// A chain is a sequence of documents under deterministic _ids, each one's _id computed from the
// one before it ("<key>/<n+1>" after "<key>/<n>"), appended in order and never with a gap. Its
// latest document is found from a head (a copy of a recent one, which may lag but never runs
// ahead) by reading the next _id until one is missing: exact _id lookups only, the one query
// every MongoDB-wire server answers from an index, so the cost does not grow with the chain.

// FindID reads the document of coll whose _id is id into a T, and tells whether there is one.
func FindID[T any](ctx context.Context, coll *mongo.Collection, id any) (T, bool, error) {
	var doc T
	err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return doc, false, nil
	}
	if err != nil {
		return doc, false, Unavailable(fmt.Errorf("read %s %v: %w", coll.Name(), id, err))
	}
	return doc, true, nil
}

// After returns the documents of the chain that follow from, in order: the one whose _id is
// next(from), then next of that one, and so on, one lookup each, until one is missing (that miss
// is the last round trip). None when nothing follows from.
func After[T any](ctx context.Context, coll *mongo.Collection, from T, next func(T) any) ([]T, error) {
	var docs []T
	for last := from; ; {
		doc, found, err := FindID[T](ctx, coll, next(last))
		if err != nil || !found {
			return docs, err
		}
		docs = append(docs, doc)
		last = doc
	}
}

// LatestAfter returns the last document of the chain from head on (head itself when nothing
// follows it) and whether any followed.
func LatestAfter[T any](ctx context.Context, coll *mongo.Collection, head T, next func(T) any) (T, bool, error) {
	for latest, moved := head, false; ; moved = true {
		doc, found, err := FindID[T](ctx, coll, next(latest))
		if err != nil || !found {
			return latest, moved, err
		}
		latest = doc
	}
}
