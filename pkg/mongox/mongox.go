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

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Client is a connection to the store that knows the commands it has in flight, so that its
// readiness check can tell a store that stopped answering from one that is only slow.
type Client struct {
	*mongo.Client
	inFlight *inFlight
}

// Connect opens a client to url and checks that the server answers. The client sends at most
// MaxInFlight commands at once (see limits.go), each with a deadline. Each of countRoundTrips is
// told of every command the client sends (one round trip to the server): its collection and
// command name, e.g. ("articles", "find").
func Connect(ctx context.Context, url string, countRoundTrips ...func(collection, command string)) (*Client, error) {
	c := &Client{inFlight: newInFlight(time.Now)}
	opts := options.Client().ApplyURI(url).
		SetConnectTimeout(5 * time.Second).
		SetServerSelectionTimeout(5 * time.Second).
		SetTimeout(CommandTimeout).
		SetMaxPoolSize(MaxInFlight)
	opts.SetMonitor(&event.CommandMonitor{
		Started: func(_ context.Context, e *event.CommandStartedEvent) {
			c.inFlight.start(e.RequestID)
			coll := collectionOf(e)
			for _, count := range countRoundTrips {
				count(coll, e.CommandName)
			}
		},
		Succeeded: func(_ context.Context, e *event.CommandSucceededEvent) { c.inFlight.end(e.RequestID) },
		Failed:    func(_ context.Context, e *event.CommandFailedEvent) { c.inFlight.end(e.RequestID) },
	})
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
	c.Client = client
	return c, nil
}

// Ready is the client's /readyz check: the store is stuck while a command has waited longer
// than StuckAfter for its answer, and down when it does not answer a ping.
func (c *Client) Ready(ctx context.Context) error {
	if waited := c.inFlight.oldest(); waited > StuckAfter {
		return fmt.Errorf("%w: a command has waited %s for the store", errs.Stuck, waited.Round(time.Second))
	}
	return c.Ping(ctx, readpref.Primary())
}

// collectionOf returns the collection a command works on: the value of its first element for
// the commands that name one (find, insert, update, …), else "".
func collectionOf(e *event.CommandStartedEvent) string {
	elem, err := e.Command.IndexErr(0)
	if err != nil {
		return ""
	}
	coll, ok := elem.Value().StringValueOK()
	if !ok {
		return ""
	}
	return coll
}

// IsDuplicate tells whether err is a unique index violation.
func IsDuplicate(err error) bool { return mongo.IsDuplicateKeyError(err) }

// NotFound turns mongo.ErrNoDocuments into errs.NotFound, describing what was missing.
func NotFound(err error, what string) error {
	if errors.Is(err, mongo.ErrNoDocuments) {
		return errs.Newf(errs.NotFound, "%s not found", what)
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
	if err == nil || errors.Is(err, errs.Unavailable) {
		return err
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
			return Unavailable(fmt.Errorf("indexes of %s: %w", coll.Name(), err))
		}
	}
	return nil
}

// ErrLostRace is what one attempt of RetryOnConflict returns (wrapped or not) when its write
// lost a race on a unique index: another writer took the sequence number or version first.
var ErrLostRace = errors.New("lost a race on a unique index")

// ErrBusy is what RetryOnConflict returns when every attempt lost its race: the client may try
// again later (409).
var ErrBusy = errs.Newf(errs.Conflict, "busy with concurrent changes, try again").WithCode(errs.CodeConcurrentChange)

// maxRaceAttempts bounds the attempts of RetryOnConflict. Every lost race means another writer
// succeeded, so a writer loses only as often as there are writers ahead of it.
const maxRaceAttempts = 100

// RetryOnConflict is the one policy for optimistic writes: it runs attempt (read the latest
// state, decide, write the next version under a unique index) until it returns anything but
// ErrLostRace, pausing a little between attempts so the writers that collided spread out. After
// maxRaceAttempts lost races it gives up with ErrBusy.
func RetryOnConflict[T any](ctx context.Context, attempt func() (T, error)) (T, error) {
	for n := 1; ; n++ {
		v, err := attempt()
		if !errors.Is(err, ErrLostRace) {
			return v, err
		}
		if n == maxRaceAttempts {
			var zero T
			return zero, ErrBusy
		}
		if err := conflictPause(ctx, n); err != nil {
			var zero T
			return zero, err
		}
	}
}

// conflictPause waits a short random time before retrying a write that lost a race on a unique
// index, growing with attempt (1, 2, …) up to about 25 ms. It returns errs.Unavailable if ctx
// ends first.
func conflictPause(ctx context.Context, attempt int) error {
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

// duplicateKeyCode is the server's error code for a unique index violation.
const duplicateKeyCode = 11000
