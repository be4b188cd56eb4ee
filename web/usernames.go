package web

import (
	"context"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/ecommerce-go/ecommerce/web/api"
)

// userNames gives the names of users by id, for the admin order overview. auth has no lookup
// by id, only its admin user list (newest first), so an id it has not looked for reads that
// list a page of namesPageSize at a time until every id asked is found, at most namesMaxPages
// pages. Kept current by expiry: a name shown may be up to namesTTL old, and an id the list
// did not hold (a user older than the namesMaxPages × namesPageSize newest) is looked for again
// only after namesTTL (after namesRetry when auth failed). At most one read runs at a time.
type userNames struct {
	list func(ctx context.Context, token, q string, page, size int) (api.UserPage, error)
	now  func() time.Time

	mu      sync.Mutex
	names   map[string]string    // by lower-case id
	fresh   time.Time            // until when names are current
	absent  map[string]time.Time // ids looked for and not found, and until when they are not looked for again
	pending singleflight.Group
}

const (
	namesPageSize = 100
	namesMaxPages = 10
	namesTTL      = 5 * time.Minute
	namesRetry    = 10 * time.Second
)

func newUserNames(client *api.Client, now func() time.Time) *userNames {
	return &userNames{list: client.Users, now: now, names: map[string]string{}, absent: map[string]time.Time{}}
}

// Names returns the names of the users ids that it knows or can read with token (an admin's).
// An id it cannot name is not in the map.
func (u *userNames) Names(ctx context.Context, token string, ids []string) map[string]string {
	known, stale := u.lookup(ids)
	if !stale {
		return known
	}
	_, _, _ = u.pending.Do("read", func() (any, error) {
		return nil, u.readList(context.WithoutCancel(ctx), token, ids)
	})
	known, _ = u.lookup(ids)
	return known
}

// lookup returns the names known of ids, and whether the list should be read again for them:
// the names expired, or an id was not looked for lately.
func (u *userNames) lookup(ids []string) (map[string]string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	out := make(map[string]string, len(ids))
	stale := false
	for _, id := range ids {
		key := strings.ToLower(id)
		if name, ok := u.names[key]; ok {
			out[id] = name
			stale = stale || !now.Before(u.fresh)
		} else if until, ok := u.absent[key]; !ok || !now.Before(until) {
			stale = true
		}
	}
	return out, stale
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
	now := u.now()
	if err == nil {
		u.names, u.fresh = names, now.Add(namesTTL)
	} else {
		u.fresh = now.Add(namesRetry) // auth failed: keep the names known, look again soon
	}
	if len(u.absent) > namesMaxPages*namesPageSize {
		u.absent = map[string]time.Time{}
	}
	for id := range missing {
		u.absent[id] = now.Add(namesTTL)
		if err != nil {
			u.absent[id] = now.Add(namesRetry) // auth failed: look again soon
		}
	}
	return err
}
