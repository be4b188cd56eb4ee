// Package quota bounds what one account may do in a window of time (SPEC §2, "Quotas"): at most
// Max units (uploads, bytes, checkouts) per fixed window of Per, such as 60 uploads per hour.
// Windows are fixed and aligned on the clock (an hourly window runs from hh:00 to hh+1:00), so
// every instance of a service agrees on them without talking, and an action past the limit is
// refused with errs.RateLimited and a Retry-After of the time left in the window.
//
// The count lives where every instance of a service sees it, so several instances allow exactly
// what one does: in Redis (Counter, atomic INCRBY) or in a MongoDB-wire store (Slots, one
// document per action under the unique _id index, as conditional updates are not atomic on every
// MongoDB-wire server).
package quota

import (
	"fmt"
	"time"

	"github.com/ecommerce-go/ecommerce/pkg/errs"
)

// Limit is at most Max units per window of Per for each account. Max 0 (or less) turns it off.
type Limit struct {
	Name string        // what is counted, a word without '/' or ':' used in keys: "uploads"
	Max  int64         // units per window
	Per  time.Duration // the window's length; a divisor of a day keeps windows on round times
	Text string        // how a person reads the limit, "60 uploads per hour"; empty: made up
}

// Off tells whether the limit is turned off.
func (l Limit) Off() bool { return l.Max <= 0 }

// window returns the start and end of the window holding now.
func (l Limit) window(now time.Time) (start, end time.Time) {
	start = now.Truncate(l.Per)
	return start, start.Add(l.Per)
}

func (l Limit) text() string {
	if l.Text != "" {
		return l.Text
	}
	return fmt.Sprintf("%d %s per %s", l.Max, l.Name, PerText(l.Per))
}

// PerText names a window length for a person: "hour", "minute", else the duration ("10s").
func PerText(d time.Duration) string {
	switch d {
	case time.Hour:
		return "hour"
	case time.Minute:
		return "minute"
	}
	return d.String()
}

// exceeded is the error of an action past l: 429 with Retry-After until the window ends.
func exceeded(l Limit, now, end time.Time) error {
	return errs.RateLimitedf(end.Sub(now), "quota exceeded: at most %s, try again later", l.text()).WithCode(errs.CodeRateLimited)
}
