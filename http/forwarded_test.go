package ledgerhttp_test

import (
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	ledgerhttp "github.com/malmo/participation-ledger/http"
)

// TestRateLimitPerClientBehindTrustedProxy: anonymous calls are limited per
// client address. Behind a trusted proxy (the test's loopback client is
// the proxy) that is the address the proxy recorded in Forwarded or
// X-Forwarded-For; from anyone else those headers are ignored.
func TestRateLimitPerClientBehindTrustedProxy(t *testing.T) {
	clock := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	limited := func(trusted ...string) *env {
		return newEnv(t, func(cfg *ledgerhttp.Config) {
			cfg.RateLimit = ledgerhttp.RateLimit{PerSecond: 1, Burst: 1}
			cfg.Now = func() time.Time { return clock } // no refill
			for _, p := range trusted {
				cfg.TrustedProxies = append(cfg.TrustedProxies, netip.MustParsePrefix(p))
			}
		})
	}
	get := func(e *env, hdr ...string) int { return e.do("GET", "/healthz", "", "", hdr...).status }

	e := limited("127.0.0.0/8", "::1/128")
	// Two clients behind the proxy each get their own bucket…
	assert.Equal(t, http.StatusOK, get(e, "Forwarded", `for=192.0.2.10;proto=https`))
	assert.Equal(t, http.StatusOK, get(e, "Forwarded", `for="[2001:db8::7]:4711"`))
	assert.Equal(t, http.StatusOK, get(e, "X-Forwarded-For", "198.51.100.3"))
	// …and the same client is limited, whichever header names it, and
	// whatever it claimed itself before the proxy (the nearest untrusted
	// hop counts, not the leftmost).
	assert.Equal(t, http.StatusTooManyRequests, get(e, "Forwarded", `for=192.0.2.10`))
	assert.Equal(t, http.StatusTooManyRequests, get(e, "Forwarded", `for=203.0.113.99, for=2001:db8::7`))
	assert.Equal(t, http.StatusTooManyRequests, get(e, "Forwarded", `for="[2001:db8::7]"`))
	assert.Equal(t, http.StatusTooManyRequests, get(e, "X-Forwarded-For", "10.9.9.9, 198.51.100.3"))

	// Without trusted proxies the headers are the caller's own claims:
	// ignored, so changing them does not buy a fresh bucket.
	e = limited()
	assert.Equal(t, http.StatusOK, get(e, "Forwarded", `for=192.0.2.10`))
	assert.Equal(t, http.StatusTooManyRequests, get(e, "Forwarded", `for=192.0.2.11`))
	assert.Equal(t, http.StatusTooManyRequests, get(e, "X-Forwarded-For", "192.0.2.12"))
}
