// Package mongox connects to MongoDB (or a MongoDB-wire server such as FerretDB) and maps its
// errors onto the error kinds of pkg/errs. Code here uses only the official driver, so a real
// MongoDB works unchanged.
package mongox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Connect opens a client to url and checks that the server answers.
func Connect(ctx context.Context, url string) (*mongo.Client, error) {
	opts := options.Client().ApplyURI(url).
		SetConnectTimeout(5 * time.Second).
		SetServerSelectionTimeout(5 * time.Second).
		SetTimeout(15 * time.Second)
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongo connect: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx, readpref.Primary()); err != nil {
		_ = client.Disconnect(context.Background())
		return nil, fmt.Errorf("mongo ping %s: %w", url, err)
	}
	return client, nil
}

// Ping is a /readyz check for client.
func Ping(client *mongo.Client) func(ctx context.Context) error {
	return func(ctx context.Context) error { return client.Ping(ctx, readpref.Primary()) }
}

// IsDuplicate tells whether err is a unique index violation.
func IsDuplicate(err error) bool { return mongo.IsDuplicateKeyError(err) }

// NotFound turns mongo.ErrNoDocuments into errs.NotFound, describing what was missing.
func NotFound(err error, what string) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("%s: %w", what, errs.NotFound)
	}
	return Unavailable(err)
}

// storeDownCodes are the server error codes that say the store cannot serve right now rather
// than that the command was wrong: InternalError (FerretDB's answer when its PostgreSQL refuses
// connections), host unreachable or not found, network timeout, time limit exceeded, shutting
// down, primary stepped down or not writable.
var storeDownCodes = []int{1, 6, 7, 50, 89, 91, 189, 262, 10107, 11600, 13436}

// Unavailable marks store errors that mean the store is not answering (timeouts, network, the
// codes of storeDownCodes) as errs.Unavailable, so clients get 503 rather than 500; other
// errors pass through unchanged.
func Unavailable(err error) error {
	if err == nil {
		return nil
	}
	if mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", errs.Unavailable, err)
	}
	var se mongo.ServerError
	if errors.As(err, &se) {
		for _, code := range storeDownCodes {
			if se.HasErrorCode(code) {
				return fmt.Errorf("%w: %w", errs.Unavailable, err)
			}
		}
		return err
	}
	if errors.Is(err, mongo.ErrClientDisconnected) {
		return fmt.Errorf("%w: %w", errs.Unavailable, err)
	}
	return err
}

// EnsureIndexes creates the indexes of coll; creating an existing index is a no-op. Indexes are
// created one per command: FerretDB drops the connection when one createIndexes command names
// several indexes that already exist.
func EnsureIndexes(ctx context.Context, coll *mongo.Collection, models ...mongo.IndexModel) error {
	for _, model := range models {
		if _, err := coll.Indexes().CreateOne(ctx, model); err != nil {
			return fmt.Errorf("indexes of %s: %w", coll.Name(), err)
		}
	}
	return nil
}

// ConflictPause waits a short random time before retrying a write that lost a race on a unique
// index (a ledger sequence number, an event version), so the writers that collided spread out
// instead of colliding again at once. The wait grows with attempt (1, 2, …) up to about 25 ms.
// It returns errs.Unavailable if ctx ends first.
func ConflictPause(ctx context.Context, attempt int) error {
	limit := time.Duration(3*min(max(attempt, 1), 8)) * time.Millisecond
	t := time.NewTimer(time.Millisecond + rand.N(limit))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", errs.Unavailable, ctx.Err())
	case <-t.C:
		return nil
	}
}
