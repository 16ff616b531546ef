package ledgerhttp_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/ledger"
)

func TestMeForTokensAndSessions(t *testing.T) {
	sessions := auth.NewSessions(auth.SessionConfig{})
	e := newEnv(t, func(c *ledgerhttp.Config) { c.Sessions = sessions })

	me := e.must(200, e.do("GET", "/v1/me", "own", "")).json(t)
	assert.Equal(t, map[string]any{"role": "participant", "actor": e.own, "participant": e.own, "pseudonym": "own", "via": "token"}, me)
	me = e.must(200, e.do("GET", "/v1/me", "moderator", "")).json(t)
	assert.Equal(t, map[string]any{"role": "moderator", "actor": "moderator-1", "via": "token"}, me)
	assert.Equal(t, 401, e.do("GET", "/v1/me", "", "").status)

	// A web session: the cookie (a random id, not a token) answers /v1/me,
	// and nothing else in the API.
	rec := httptest.NewRecorder()
	sessions.Start(rec, httptest.NewRequest("GET", "/", nil), auth.Session{Pseudonym: "own",
		Principal: ledger.Principal{Name: e.own, Role: domain.RoleParticipant, Participant: e.own}}, "")
	cookie := rec.Result().Cookies()[0]
	get := func(path string) *http.Response {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.AddCookie(cookie)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	res := get("/v1/me")
	assert.Equal(t, 200, res.StatusCode)
	assert.Equal(t, 401, get("/v1/participants/"+e.own+"/data").StatusCode, "the session cookie is for /v1/me only")
}

func TestFailedAuthenticationsAreLimitedPerAddress(t *testing.T) {
	start := time.Now()
	var offset atomic.Int64
	e := newEnv(t, func(c *ledgerhttp.Config) {
		c.Failures = auth.NewFailures(5, time.Minute, func() time.Time { return start.Add(time.Duration(offset.Load())) })
	})
	for i := range 5 {
		r := e.do("GET", "/v1/me", "", "", "Authorization", "Bearer wrong")
		assert.Equal(t, 401, r.status, "attempt %d", i)
	}
	r := e.do("GET", "/v1/me", "", "", "Authorization", "Bearer wrong")
	assert.Equal(t, 429, r.status)
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	// A right token from the same address waits too: guessing must not be
	// told apart from using.
	assert.Equal(t, 429, e.do("GET", "/v1/me", "moderator", "").status)
	offset.Store(int64(time.Minute))
	assert.Equal(t, 200, e.do("GET", "/v1/me", "moderator", "").status)
}
