package auth_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

func TestSessionLifetimesAndRevocation(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	s := auth.NewSessions(auth.SessionConfig{Idle: 30 * time.Minute, Max: 8 * time.Hour, StaffMax: 10 * time.Minute,
		Now: func() time.Time { return now }})
	start := func(p ledger.Principal) *http.Cookie {
		rec := httptest.NewRecorder()
		s.Start(rec, httptest.NewRequest("GET", "/", nil), auth.Session{Principal: p}, "id-token")
		c := rec.Result().Cookies()
		require.Len(t, c, 1)
		assert.True(t, c[0].HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, c[0].SameSite)
		assert.False(t, c[0].Secure, "plain HTTP without --secure-cookies")
		return c[0]
	}
	req := func(c *http.Cookie) *http.Request {
		r := httptest.NewRequest("GET", "/", nil)
		r.AddCookie(c)
		return r
	}
	resident := start(ledger.Principal{Name: "p1", Role: domain.RoleParticipant, Participant: "p1"})
	staff := start(ledger.Principal{Name: "karin.sjoberg", Role: domain.RoleModerator})
	assert.NotContains(t, resident.Value, "p1")
	got, ok := s.Get(req(resident))
	require.True(t, ok)
	assert.Len(t, got.CSRF, 43)
	assert.Equal(t, "id-token", got.IDToken())

	// Staff sessions are short; residents' last while used.
	for range 3 {
		now = now.Add(9 * time.Minute)
		_, ok = s.Get(req(resident))
		assert.True(t, ok)
	}
	_, ok = s.Get(req(staff))
	assert.False(t, ok, "staff session past its 10 minutes")

	// Idle for longer than 30 minutes ends it.
	now = now.Add(31 * time.Minute)
	_, ok = s.Get(req(resident))
	assert.False(t, ok)

	// The absolute lifetime ends it even when used all along.
	resident = start(ledger.Principal{Name: "p1", Role: domain.RoleParticipant, Participant: "p1"})
	for range 33 {
		now = now.Add(15 * time.Minute)
		_, ok = s.Get(req(resident))
	}
	assert.False(t, ok, "8 h absolute")

	// Ended by erasure, by sign-out, and by signing in again (no fixation).
	a := start(ledger.Principal{Name: "p2", Role: domain.RoleParticipant, Participant: "p2"})
	assert.Equal(t, 1, s.EndParticipant("p2"))
	_, ok = s.Get(req(a))
	assert.False(t, ok)
	b := start(ledger.Principal{Name: "p3", Role: domain.RoleParticipant, Participant: "p3"})
	rec := httptest.NewRecorder()
	s.Start(rec, req(b), auth.Session{Principal: ledger.Principal{Name: "p3", Role: domain.RoleParticipant, Participant: "p3"}}, "")
	_, ok = s.Get(req(b))
	assert.False(t, ok, "the old id ends when a new session starts")
	c := rec.Result().Cookies()[0]
	rec = httptest.NewRecorder()
	_, ok = s.End(rec, req(c))
	assert.True(t, ok)
	assert.Equal(t, -1, rec.Result().Cookies()[0].MaxAge)
	_, ok = s.Get(req(c))
	assert.False(t, ok)

	// Secure over TLS, or when configured.
	sec := auth.NewSessions(auth.SessionConfig{Secure: true})
	rec = httptest.NewRecorder()
	sec.Start(rec, httptest.NewRequest("GET", "/", nil), auth.Session{Principal: ledger.Principal{Name: "x", Role: domain.RoleAdmin}}, "")
	assert.True(t, rec.Result().Cookies()[0].Secure)
	rec = httptest.NewRecorder()
	s.Start(rec, httptest.NewRequest("GET", "https://ledger.example/", nil), auth.Session{Principal: ledger.Principal{Name: "x", Role: domain.RoleAdmin}}, "")
	assert.True(t, rec.Result().Cookies()[0].Secure)
}

func TestCheckCSRF(t *testing.T) {
	s := auth.Session{CSRF: "token-1"}
	post := func(v string) *http.Request {
		r := httptest.NewRequest("POST", "/", strings.NewReader("csrf="+v))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	assert.True(t, auth.CheckCSRF(post("token-1"), s))
	assert.False(t, auth.CheckCSRF(post("token-2"), s))
	assert.False(t, auth.CheckCSRF(post(""), auth.Session{}))
}

func TestFailures(t *testing.T) {
	now := time.Unix(0, 0)
	f := auth.NewFailures(3, 10*time.Second, func() time.Time { return now })
	for range 3 {
		_, blocked := f.Blocked("192.0.2.1")
		assert.False(t, blocked)
		f.Fail("192.0.2.1")
	}
	wait, blocked := f.Blocked("192.0.2.1")
	assert.True(t, blocked)
	assert.Equal(t, 10*time.Second, wait)
	_, blocked = f.Blocked("192.0.2.2")
	assert.False(t, blocked, "per address")
	now = now.Add(10 * time.Second)
	_, blocked = f.Blocked("192.0.2.1")
	assert.False(t, blocked, "one failure earned back")
}

func TestParseProvider(t *testing.T) {
	secret := func(string) ([]byte, error) { return []byte("s3cret\n"), nil }
	p, err := auth.ParseProvider("name=staff kind=staff label=Malmö_stads_katalog issuer=https://login.example.se client_id=ledger "+
		"client_secret_file=/run/secrets/staff redirect_url=https://ledger.example.se/signin/staff/callback scopes=openid,profile,groups "+
		"role_claim=groups roles=mod:moderator,off:official", secret)
	require.NoError(t, err)
	assert.Equal(t, "Malmö stads katalog", p.Label)
	assert.Equal(t, "s3cret", p.ClientSecret)
	assert.Equal(t, []auth.RoleMapping{{Group: "mod", Role: domain.RoleModerator}, {Group: "off", Role: domain.RoleOfficial}}, p.Roles)
	assert.Equal(t, "preferred_username", p.UsernameClaim)

	for _, bad := range []string{
		"name=x kind=resident issuer=https://i client_id=c",                                                         // no redirect
		"name=x kind=other issuer=https://i client_id=c redirect_url=https://r/cb",                                  // kind
		"name=x kind=resident issuer=ftp://i client_id=c redirect_url=https://r/cb",                                 // issuer
		"name=x kind=resident issuer=https://i client_id=c redirect_url=https://r/cb scopes=profile",                // no openid
		"name=x kind=staff issuer=https://i client_id=c redirect_url=https://r/cb role_claim=g roles=a:participant", // not a staff role
		"name=x kind=staff issuer=https://i client_id=c redirect_url=https://r/cb",                                  // no roles
		"name=x kind=resident issuer=https://i client_id=c redirect_url=https://r/cb secret=x",                      // unknown key
	} {
		_, err := auth.ParseProvider(bad, secret)
		assert.Error(t, err, bad)
	}
	_, err = auth.ParseProvider("name=x kind=resident issuer=https://i client_id=c redirect_url=https://r/cb client_secret_file=/x", nil)
	assert.Error(t, err)
}

func TestClientAddr(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	assert.Equal(t, "192.0.2.7", auth.ClientAddr(r))
	r = r.WithContext(auth.WithClientAddr(r.Context(), "198.51.100.9"))
	assert.Equal(t, "198.51.100.9", auth.ClientAddr(r), "as the HTTP layer resolved it behind a trusted proxy")
}
