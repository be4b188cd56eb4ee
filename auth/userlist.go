package auth

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"golang.org/x/sync/errgroup"

	"github.com/ecommerce-go/ecommerce/pkg/mongox"
	"github.com/ecommerce-go/ecommerce/pkg/web"
)

// The list of users, newest first, for GET /users/all. Sorting or counting the users collection
// costs a read of every user on a MongoDB-wire server that pushes neither down (FerretDB: about
// a second per page at 10,000 users, measured). So users are numbered as they sign up, under
// deterministic ids, as orders numbers each user's orders (orders/userorders.go):
//
//	user_list        {_id: "<n>", n, userId}   unique userId
//	user_list_heads  {_id: "head", n}          an n at most userListHeadEvery behind
//
// Listing a user appends the next n; of two racing writers only one gets each n (the _id), and
// a user is listed once (the unique index). The last n is the number of users, and a page is n
// entries read by _id from the end, then their users by _id: a cost that grows with the page's
// size, not with the number of users. Searching by login still reads every user (no index
// answers "contains"); see Store.UsersPage.

// userListEntry is one entry of the users list.
type userListEntry struct {
	ID     string        `bson:"_id"`
	N      int           `bson:"n"`
	UserID bson.ObjectID `bson:"userId"`
}

// userListHeadEvery is how many entries go by between two writes of the list's head.
const userListHeadEvery = 8

// userList is the users list of a store: its collections, and the last entry this instance
// knows of, where listing and reading start looking (entries are never removed, so it only
// grows; a stale value is corrected by looking past it).
type userList struct {
	entries *mongo.Collection
	heads   *mongo.Collection
	end     atomic.Int64
}

func newUserList(db *mongo.Database) *userList {
	return &userList{entries: db.Collection("user_list"), heads: db.Collection("user_list_heads")}
}

// ensure declares the list's index.
func (l *userList) ensure(ctx context.Context) error {
	return mongox.EnsureIndexes(ctx, l.entries, mongo.IndexModel{
		Keys: bson.D{{Key: "userId", Value: 1}}, Options: options.Index().SetUnique(true),
	})
}

// add lists the user, once however often it is called.
func (l *userList) add(ctx context.Context, userID bson.ObjectID) error {
	n, err := l.last(ctx)
	if err != nil {
		return err
	}
	_, err = mongox.RetryOnConflict(ctx, func() (struct{}, error) {
		n++
		_, err := l.entries.InsertOne(ctx, userListEntry{ID: strconv.Itoa(n), N: n, UserID: userID})
		if err == nil {
			l.heard(n)
			if n%userListHeadEvery == 0 { // a failed write is made up for by a later one
				_, _ = l.heads.UpdateOne(ctx, bson.D{{Key: "_id", Value: "head"}},
					bson.D{{Key: "$max", Value: bson.D{{Key: "n", Value: n}}}}, options.UpdateOne().SetUpsert(true))
			}
			return struct{}{}, nil
		}
		if !mongox.IsDuplicate(err) {
			return struct{}{}, mongox.Unavailable(fmt.Errorf("list user %s: %w", userID.Hex(), err))
		}
		entry, found, err := l.at(ctx, n)
		switch {
		case err != nil:
			return struct{}{}, err
		case !found || entry.UserID == userID: // n is free, so the user was the duplicate
			return struct{}{}, nil
		}
		return struct{}{}, fmt.Errorf("users list: %w", mongox.ErrLostRace) // n is taken: try the next
	})
	return err
}

// last returns the number of the list's last entry (0 when empty): from where this instance or
// the head knows it to be, the entries after it until one is missing.
func (l *userList) last(ctx context.Context) (int, error) {
	head, _, err := mongox.FindID[struct {
		N int `bson:"n"`
	}](ctx, l.heads, "head")
	if err != nil {
		return 0, err
	}
	from := userListEntry{N: max(int(l.end.Load()), head.N)}
	next := func(e userListEntry) any { return strconv.Itoa(e.N + 1) }
	last, _, err := mongox.LatestAfter(ctx, l.entries, from, next)
	if err != nil {
		return 0, err
	}
	l.heard(last.N)
	return last.N, nil
}

// heard records that entry n exists.
func (l *userList) heard(n int) {
	for {
		known := l.end.Load()
		if int64(n) <= known || l.end.CompareAndSwap(known, int64(n)) {
			return
		}
	}
}

func (l *userList) at(ctx context.Context, n int) (userListEntry, bool, error) {
	var e userListEntry
	err := l.entries.FindOne(ctx, bson.D{{Key: "_id", Value: strconv.Itoa(n)}}).Decode(&e)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return e, false, nil
	}
	return e, err == nil, mongox.Unavailable(err)
}

// page returns page (from 1) of size of the listed users, newest first, and how many are listed.
// Each entry and each user is read by _id. A listed user that is not found (none is ever
// deleted) is left out of its page.
func (l *userList) page(ctx context.Context, users *mongo.Collection, page, size int) ([]User, int64, error) {
	total, err := l.last(ctx)
	if err != nil {
		return nil, 0, err
	}
	from, to := web.PageBounds(page, size, total)
	found := make([]*User, to-from)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(mongox.MaxParallel)
	for i := range found {
		g.Go(func() error {
			entry, ok, err := l.at(gctx, total-from-i)
			if err != nil || !ok {
				return err
			}
			var doc userDoc
			err = users.FindOne(gctx, bson.D{{Key: "_id", Value: entry.UserID}}).Decode(&doc)
			if errors.Is(err, mongo.ErrNoDocuments) {
				return nil
			}
			if err != nil {
				return mongox.Unavailable(err)
			}
			u := doc.user()
			u.PasswordHash = nil
			found[i] = &u
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, 0, err
	}
	list := make([]User, 0, len(found))
	for _, u := range found {
		if u != nil {
			list = append(list, *u)
		}
	}
	return list, int64(total), nil
}
