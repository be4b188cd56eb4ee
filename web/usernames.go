package web

import (
	"context"
	"maps"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ecommerce-go/ecommerce/web/api"
)

// userNames gives the names of users by id, for the admin order overview. auth has no lookup
// by id, only its admin user list (newest first), so a miss reads that list a page of
// namesPageSize at a time until every id asked is found, at most namesMaxPages pages, and keeps
// what it read. Kept current by expiry: a name shown may be up to namesTTL old; a user older
// than the namesMaxPages × namesPageSize newest is shown by id. At most one read runs at a time,
// and misses read again at most once per namesRetry.
type userNames struct {
	list func(ctx context.Context, token, q string, page, size int) (api.UserPage, error)
	now  func() time.Time

	mu      sync.Mutex
	names   map[string]string // by lower-case id
	read    time.Time         // when names was read
	pending singleflight.Group
}

const (
	namesPageSize = 100
	namesMaxPages = 10
	namesTTL      = 5 * time.Minute
	namesRetry    = 30 * time.Second
)

func newUserNames(client *api.Client, now func() time.Time) *userNames {
	return &userNames{list: client.Users, now: now, names: map[string]string{}}
}

// Names returns the names of the users ids that it knows or can read with token (an admin's).
// An id it cannot name is not in the map; auth's failure leaves the map as far as it is known.
func (u *userNames) Names(ctx context.Context, token string, ids []string) map[string]string {
	known, complete := u.lookup(ids)
	u.mu.Lock()
	age := u.now().Sub(u.read)
	u.mu.Unlock()
	if (complete && age < namesTTL) || (!complete && age < namesRetry) {
		return known
	}
	_, _, _ = u.pending.Do("read", func() (any, error) {
		return nil, u.readList(context.WithoutCancel(ctx), token, ids)
	})
	known, _ = u.lookup(ids)
	return known
}

// lookup returns the names known of ids and whether every one is known.
func (u *userNames) lookup(ids []string) (map[string]string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[string]string, len(ids))
	complete := true
	for _, id := range ids {
		if name, ok := u.names[strings.ToLower(id)]; ok {
			out[id] = name
		} else {
			complete = false
		}
	}
	return out, complete
}

// readList reads the user list until every id of want is found, or the list or namesMaxPages
// ends, and makes what it read the names known.
func (u *userNames) readList(ctx context.Context, token string, want []string) error {
	missing := map[string]bool{}
	for _, id := range want {
		missing[strings.ToLower(id)] = true
	}
	names := map[string]string{}
	var err error
	for page := 1; page <= namesMaxPages; page++ {
		var p api.UserPage
		if p, err = u.list(ctx, token, "", page, namesPageSize); err != nil {
			break
		}
		for _, user := range p.Users {
			id := strings.ToLower(user.ID)
			names[id] = user.Name
			delete(missing, id)
		}
		if len(missing) == 0 || len(p.Users) < namesPageSize {
			break
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case err == nil:
		u.names = names
	case len(u.names)+len(names) <= 2*namesMaxPages*namesPageSize:
		maps.Copy(u.names, names) // a failed read keeps what was known
	}
	u.read = u.now()
	return err
}
