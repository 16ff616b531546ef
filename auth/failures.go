package auth

import (
	"context"
	"math"
	"net"
	"net/http"
	"sync"
	"time"
)

// Failures limits failed authentications per client address (a bad
// bearer token, a refused sign-in): each address has Burst failures, and
// earns one back every Every. Successes cost nothing, so a person who
// mistypes once is never slowed, while guessing tokens at speed stops at
// once.
type Failures struct {
	burst float64
	every time.Duration
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*failBucket
}

type failBucket struct {
	left float64
	last time.Time
}

// NewFailures allows burst failures per address, refilled one per every
// (defaults: 10, and one per 6 seconds).
func NewFailures(burst int, every time.Duration, now func() time.Time) *Failures {
	if burst < 1 {
		burst = 10
	}
	if every <= 0 {
		every = 6 * time.Second
	}
	if now == nil {
		now = time.Now
	}
	return &Failures{burst: float64(burst), every: every, now: now, buckets: map[string]*failBucket{}}
}

// Blocked reports whether addr has used up its failures, and how long
// until it may try again.
func (f *Failures) Blocked(addr string) (time.Duration, bool) {
	if f == nil {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.refill(addr)
	if b == nil || b.left >= 1 {
		return 0, false
	}
	return time.Duration((1 - b.left) * float64(f.every)), true
}

// Fail records a failed authentication from addr.
func (f *Failures) Fail(addr string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.refill(addr)
	if b == nil {
		if len(f.buckets) >= maxSessions {
			f.sweep()
		}
		b = &failBucket{left: f.burst, last: f.now()}
		f.buckets[addr] = b
	}
	b.left = math.Max(0, b.left-1)
}

func (f *Failures) refill(addr string) *failBucket {
	b := f.buckets[addr]
	if b == nil {
		return nil
	}
	now := f.now()
	b.left = math.Min(f.burst, b.left+float64(now.Sub(b.last))/float64(f.every))
	b.last = now
	return b
}

func (f *Failures) sweep() {
	now := f.now()
	for k, b := range f.buckets {
		if b.left+float64(now.Sub(b.last))/float64(f.every) >= f.burst {
			delete(f.buckets, k)
		}
	}
}

type clientAddrKey struct{}

// WithClientAddr records the client's address as the HTTP layer resolved
// it (the peer, or behind a trusted proxy the address the proxy names).
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// ClientAddr is the address failures of r are counted against: the one
// WithClientAddr recorded, else the peer's.
func ClientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddrKey{}).(string); ok && a != "" {
		return a
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
