package ledgerhttp

import (
	"fmt"
	"math"
	"sync"
	"time"
)

// RateLimit configures the per-token token bucket: Burst requests at once,
// refilled at PerSecond. A zero PerSecond disables limiting.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// limiter holds one bucket per caller (token id, or client address for
// anonymous reads). Buckets that have refilled completely carry no state
// worth keeping, so the map is swept when it grows past maxBuckets; that
// bounds memory under a flood of distinct callers.
type limiter struct {
	cfg RateLimit
	now func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

const maxBuckets = 100_000

type rateLimitError struct{ wait time.Duration }

func (e *rateLimitError) Error() string {
	return fmt.Sprintf("%v; retry after %d s", errRateLimited, e.retryAfterSeconds())
}
func (e *rateLimitError) Unwrap() error { return errRateLimited }

func (e *rateLimitError) retryAfterSeconds() int {
	return max(1, int(math.Ceil(e.wait.Seconds())))
}

func newLimiter(cfg RateLimit, now func() time.Time) *limiter {
	if cfg.Burst < 1 {
		cfg.Burst = 1
	}
	return &limiter{cfg: cfg, now: now, buckets: map[string]*bucket{}}
}

// allow takes one token from key's bucket, or returns a *rateLimitError
// saying how long until one is available.
func (l *limiter) allow(key string) error {
	if l == nil || l.cfg.PerSecond <= 0 {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= maxBuckets {
			l.sweep(now)
		}
		b = &bucket{tokens: float64(l.cfg.Burst), last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(float64(l.cfg.Burst), b.tokens+now.Sub(b.last).Seconds()*l.cfg.PerSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) / l.cfg.PerSecond * float64(time.Second))
	return &rateLimitError{wait: wait}
}

func (l *limiter) sweep(now time.Time) {
	full := float64(l.cfg.Burst) / l.cfg.PerSecond
	for k, b := range l.buckets {
		if now.Sub(b.last).Seconds() >= full {
			delete(l.buckets, k)
		}
	}
}
