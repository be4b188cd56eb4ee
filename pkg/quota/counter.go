package quota

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// keyGrace keeps a window's key this long after the window ends, so that an instance whose
// clock runs a little behind still counts on it rather than on a fresh key.
const keyGrace = time.Minute

// Counter counts limits in Redis, one integer key per account, limit and window:
// <prefix>quota:<limit>:<account>:<window start, Unix seconds>. INCRBY is atomic, so every
// instance on the same Redis and prefix shares the count; each key expires a little after its
// window. It uses INCRBY, EXPIRE/PEXPIRE and pipelining, which the all-in-one launcher's
// embedded Redis serves too.
type Counter struct {
	client redis.Cmdable
	prefix string
	now    func() time.Time
}

// NewCounter returns a Counter on client with keys under prefix, reading the time from now.
func NewCounter(client redis.Cmdable, prefix string, now func() time.Time) *Counter {
	return &Counter{client: client, prefix: prefix, now: now}
}

// Charge is an amount charged to a limit: 1 upload, or its size in bytes.
type Charge struct {
	Limit  Limit
	Amount int64
}

// Take charges every amount to its limit for account, in one round trip to Redis, or none when
// every limit is off. When any limit would be exceeded it takes them all back (a second round
// trip) and returns an errs.RateLimited error with the time until the last of the exceeded
// windows ends: a refused action counts for nothing. Two actions racing for the last units may
// both be refused, never both allowed.
func (c *Counter) Take(ctx context.Context, account string, charges ...Charge) error {
	on := slices.DeleteFunc(slices.Clone(charges), func(ch Charge) bool { return ch.Limit.Off() })
	if len(on) == 0 {
		return nil
	}
	now := c.now()
	type taken struct {
		charge Charge
		key    string
		end    time.Time
		total  *redis.IntCmd
	}
	var all []taken
	pipe := c.client.Pipeline()
	for _, ch := range on {
		start, end := ch.Limit.window(now)
		key := c.prefix + "quota:" + ch.Limit.Name + ":" + account + ":" + strconv.FormatInt(start.Unix(), 10)
		t := taken{charge: ch, key: key, end: end, total: pipe.IncrBy(ctx, key, ch.Amount)}
		pipe.Expire(ctx, key, end.Sub(now)+keyGrace)
		all = append(all, t)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("%w: redis: quota: %w", errs.Unavailable, err)
	}
	var over error
	var overEnd time.Time
	for _, t := range all {
		if t.total.Val() > t.charge.Limit.Max && t.end.After(overEnd) {
			over, overEnd = exceeded(t.charge.Limit, now, t.end), t.end
		}
	}
	if over == nil {
		return nil
	}
	undo := c.client.Pipeline()
	for _, t := range all {
		undo.IncrBy(ctx, t.key, -t.charge.Amount)
	}
	if _, err := undo.Exec(ctx); err != nil {
		return fmt.Errorf("%w: redis: quota: %w", errs.Unavailable, err)
	}
	return over
}
