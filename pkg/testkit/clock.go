package testkit

import (
	"sync/atomic"
	"time"
)

// Clock is a settable clock for tests, safe for concurrent use: inject its Now where a service
// takes a clock, and move it with Set and Add instead of sleeping.
type Clock struct{ t atomic.Pointer[time.Time] }

// NewClock returns a clock that reads t.
func NewClock(t time.Time) *Clock {
	c := &Clock{}
	c.Set(t)
	return c
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return *c.t.Load() }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.t.Store(&t) }

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }
