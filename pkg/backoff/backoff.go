// Package backoff spaces the repeats of work that is redone until it is confirmed — a message
// re-sent until its answer comes back — so that a slow consumer is not buried under copies.
//
// Repeating at a fixed pace fails badly under load: when a queue drains slower than the copies
// arrive, it only grows (and every instance of a service adds its own copies), so new work waits
// behind ever more copies of old work. With a doubling gap, the copies of one item over a delay
// D number log2(D/first) instead of D/first.
package backoff

import (
	"sync"
	"time"
)

// Schedule says, item by item, when a repeat is due: first when an item is seen, then after
// First, 2×First, 4×First… up to Max between two repeats. It is kept in memory, per process: after
// a restart an item is repeated once more, which the receivers of such repeats must tolerate
// anyway. The zero value is not usable; set First and Max.
type Schedule struct {
	First, Max time.Duration

	mu   sync.Mutex
	next map[string]due // item key → when it is due again
}

type due struct {
	at  time.Time
	gap time.Duration
}

// Due returns the items that are due at now and schedules their next repeat. items is every
// item still waiting for its confirmation: items not in it are forgotten.
func Due[T any](s *Schedule, items []T, key func(T) string, now time.Time) []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	next := make(map[string]due, len(items))
	var out []T
	for _, item := range items {
		k := key(item)
		d, seen := s.next[k]
		if seen && now.Before(d.at) {
			next[k] = d
			continue
		}
		gap := s.First
		if seen {
			gap = min(2*d.gap, s.Max)
		}
		next[k] = due{at: now.Add(gap), gap: gap}
		out = append(out, item)
	}
	s.next = next
	return out
}

// Retry makes the items of keys due again at the next call, with the first gap: their repeat
// was due but could not be done (the broker was down), so it must not count as a repeat.
func (s *Schedule) Retry(keys ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		delete(s.next, k)
	}
}
