package backoff_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ecommerce-go/ecommerce/pkg/backoff"
)

func TestDueDoublesTheGapUpToMax(t *testing.T) {
	s := &backoff.Schedule{First: time.Second, Max: 5 * time.Second}
	start := time.Unix(1000, 0)
	id := func(s string) string { return s }
	var dueAt []int
	for sec := range 30 {
		if len(backoff.Due(s, []string{"a"}, id, start.Add(time.Duration(sec)*time.Second))) == 1 {
			dueAt = append(dueAt, sec)
		}
	}
	// Gaps 1, 2, 4, then 5 (Max) each time.
	assert.Equal(t, []int{0, 1, 3, 7, 12, 17, 22, 27}, dueAt)
}

func TestDueForgetsConfirmedItems(t *testing.T) {
	s := &backoff.Schedule{First: time.Minute, Max: time.Hour}
	now := time.Unix(1000, 0)
	id := func(s string) string { return s }
	assert.Equal(t, []string{"a", "b"}, backoff.Due(s, []string{"a", "b"}, id, now))
	assert.Empty(t, backoff.Due(s, []string{"a", "b"}, id, now.Add(time.Second)), "not due yet")
	backoff.Due(s, []string{"a"}, id, now.Add(2*time.Second)) // b was confirmed
	assert.Equal(t, []string{"b"}, backoff.Due(s, []string{"a", "b"}, id, now.Add(3*time.Second)),
		"b, seen again after it was forgotten, is due at once")
}

func TestRetryMakesAnItemDueAgainAtOnce(t *testing.T) {
	s := &backoff.Schedule{First: time.Second, Max: time.Hour}
	start := time.Unix(1000, 0)
	id := func(s string) string { return s }
	require := assert.New(t)
	require.Len(backoff.Due(s, []string{"a"}, id, start), 1)
	require.Len(backoff.Due(s, []string{"a"}, id, start.Add(time.Second)), 1, "due after the first gap")
	s.Retry("a") // that repeat could not be done
	require.Len(backoff.Due(s, []string{"a"}, id, start.Add(time.Second+time.Millisecond)), 1, "due again at once")
	require.Empty(backoff.Due(s, []string{"a"}, id, start.Add(1500*time.Millisecond)), "then after the first gap again, not a doubled one")
	require.Len(backoff.Due(s, []string{"a"}, id, start.Add(2001*time.Millisecond)), 1)
}
