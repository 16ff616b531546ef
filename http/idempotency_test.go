package ledgerhttp

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIdempotencyBoundAndCompaction(t *testing.T) {
	dir := t.TempDir()
	s, err := openIdempotency(dir, 3)
	require.NoError(t, err)
	for _, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		_, claimed := s.begin(k)
		require.True(t, claimed)
		require.NoError(t, s.finish(&idemRecord{Key: k, Status: 201, Body: []byte(`{"id":"` + k + `"}`)}))
	}
	require.NoError(t, s.close())

	s2, err := openIdempotency(dir, 3)
	require.NoError(t, err)
	defer s2.close()
	assert.Equal(t, []string{"f", "g", "h"}, s2.order, "only the newest records survive")
	rec, claimed := s2.begin("g")
	assert.False(t, claimed)
	assert.JSONEq(t, `{"id":"g"}`, string(rec.Body))
	_, claimed = s2.begin("a")
	assert.True(t, claimed, "evicted keys are claimable again")
	s2.abandon("a")
}

func TestIdempotencyConcurrentSameKeyWaits(t *testing.T) {
	s, err := openIdempotency("", 10)
	require.NoError(t, err)
	_, claimed := s.begin("k")
	require.True(t, claimed)
	var wg sync.WaitGroup
	got := make(chan *idemRecord, 1)
	wg.Go(func() {
		r, claimed := s.begin("k")
		assert.False(t, claimed)
		got <- r
	})
	time.Sleep(10 * time.Millisecond) // the second request is now waiting
	require.NoError(t, s.finish(&idemRecord{Key: "k", Status: 201, Body: []byte(`{}`)}))
	wg.Wait()
	assert.Equal(t, 201, (<-got).Status)
}

func TestRateLimiterRefills(t *testing.T) {
	now := time.Unix(0, 0)
	l := newLimiter(RateLimit{PerSecond: 10, Burst: 2}, func() time.Time { return now })
	require.NoError(t, l.allow("t"))
	require.NoError(t, l.allow("t"))
	err := l.allow("t")
	var rl *rateLimitError
	require.ErrorAs(t, err, &rl)
	assert.Equal(t, 100*time.Millisecond, rl.wait)
	assert.Equal(t, 1, rl.retryAfterSeconds(), "Retry-After rounds up to whole seconds")
	now = now.Add(100 * time.Millisecond)
	assert.NoError(t, l.allow("t"))
	assert.NoError(t, (*limiter)(nil).allow("x"), "no limiter, no limit")
}
