package auth_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
)

// A relying party and the development provider, both real, on loopback:
// the provider's login page is posted to like a browser would.

type rig struct {
	t     *testing.T
	op    *auth.DevProvider
	opURL string
	rpURL string
	rp    *auth.RelyingParty

	mu   sync.Mutex
	now  time.Time
	last struct {
		id  auth.Identity
		err error
	}
	callbacks []string // callback URLs as received
}

func newRig(t *testing.T) *rig {
	t.Helper()
	g := &rig{t: t, now: time.Now()}
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g.opURL = "http://" + opLn.Addr().String()
	rpSrv := httptest.NewUnstartedServer(nil)
	g.rpURL = "http://" + rpSrv.Listener.Addr().String()

	people := []auth.DevPerson{
		{Subject: "199001011234", Name: "Alex Andersson", Email: "alex@example.org", Resident: true},
		{Subject: "staff-karin", Name: "Karin Sjöberg", Username: "karin.sjoberg", Groups: []string{"ledger-moderators"}},
	}
	clients := []auth.DevClient{
		{ID: "residents", Secret: "s1", Residents: true, RedirectURIs: []string{g.rpURL + "/signin/eid/callback", g.rpURL + "/signin/rogue/callback"}},
		{ID: "staff", Secret: "s2", RedirectURIs: []string{g.rpURL + "/signin/staff/callback"}},
	}
	g.op, err = auth.NewDevProvider(g.opURL, clients, people, nil)
	require.NoError(t, err)
	opSrv := &httptest.Server{Listener: opLn, Config: &http.Server{Handler: g.op}}
	opSrv.Start()
	t.Cleanup(opSrv.Close)

	// A mix-up: discovery at another address claims that address as the
	// issuer and points at the provider's endpoints, whose ID tokens name
	// the real issuer.
	mixup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := http.Get(g.opURL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		w.Write([]byte(strings.Replace(string(b), `"issuer":"`+g.opURL+`"`, `"issuer":"http://`+r.Host+`"`, 1)))
	}))
	t.Cleanup(mixup.Close)

	g.rp, err = auth.NewRelyingParty([]auth.ProviderConfig{
		{Name: "rogue", Kind: auth.Residents, Issuer: mixup.URL, ClientID: "residents", ClientSecret: "s1",
			RedirectURL: g.rpURL + "/signin/rogue/callback", Scopes: []string{"openid"}},
		{Name: "eid", Kind: auth.Residents, Issuer: g.opURL, ClientID: "residents", ClientSecret: "s1",
			RedirectURL: g.rpURL + "/signin/eid/callback", Scopes: []string{"openid", "profile", "email"}, NameClaim: "name", EmailClaim: "email"},
		{Name: "staff", Kind: auth.Staff, Issuer: g.opURL, ClientID: "staff", ClientSecret: "s2", UsernameClaim: "preferred_username",
			RedirectURL: g.rpURL + "/signin/staff/callback", Scopes: []string{"openid", "profile", "groups"}, RoleClaim: "groups",
			Roles: []auth.RoleMapping{{Group: "ledger-moderators", Role: domain.RoleModerator}}},
	}, auth.WithClock(func() time.Time { g.mu.Lock(); defer g.mu.Unlock(); return g.now }))
	require.NoError(t, err)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /signin/{p}", func(w http.ResponseWriter, r *http.Request) {
		u, err := g.rp.Begin(w, r, r.PathValue("p"), false)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, u, http.StatusFound)
	})
	mux.HandleFunc("GET /signin/{p}/callback", func(w http.ResponseWriter, r *http.Request) {
		id, err := g.rp.Finish(w, r, r.PathValue("p"))
		g.mu.Lock()
		g.last.id, g.last.err = id, err
		g.callbacks = append(g.callbacks, r.URL.String())
		g.mu.Unlock()
		io.WriteString(w, "done")
	})
	rpSrv.Config.Handler = mux
	rpSrv.Start()
	t.Cleanup(rpSrv.Close)
	return g
}

// browser is a cookie-keeping client; rewrite may change each request's
// URL before it is sent (to tamper with what a browser would carry).
func (g *rig) browser(rewrite func(*url.URL)) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if rewrite != nil {
			rewrite(req.URL)
		}
		return nil
	}}
}

var hiddenID = regexp.MustCompile(`name="id" value="([^"]+)"`)

// signIn starts at /signin/{p}, picks subject on the provider's page and
// returns what the callback made of it.
func (g *rig) signIn(c *http.Client, p, subject string) (auth.Identity, error) {
	g.t.Helper()
	res, err := c.Get(g.rpURL + "/signin/" + p)
	require.NoError(g.t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(g.t, 200, res.StatusCode, string(body))
	m := hiddenID.FindSubmatch(body)
	require.NotNil(g.t, m, "the provider's login page: %s", body)
	res, err = c.PostForm(g.opURL+"/login", url.Values{"id": {string(m[1])}, "subject": {subject}})
	require.NoError(g.t, err)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(g.t, "done", string(b))
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.last.id, g.last.err
}

func TestResidentAndStaffSignIn(t *testing.T) {
	g := newRig(t)
	id, err := g.signIn(g.browser(nil), "eid", "199001011234")
	require.NoError(t, err)
	assert.Equal(t, auth.Residents, id.Kind)
	assert.Equal(t, "199001011234", id.Subject)
	assert.Equal(t, g.opURL, id.Issuer)
	assert.Equal(t, "Alex Andersson", id.Name)
	assert.Equal(t, "alex@example.org", id.Email)
	assert.NotEmpty(t, g.rp.EndSessionURL(t.Context(), "eid", id.IDToken, g.rpURL+"/"))

	id, err = g.signIn(g.browser(nil), "staff", "staff-karin")
	require.NoError(t, err)
	assert.Equal(t, domain.RoleModerator, id.Role)
	assert.Equal(t, "karin.sjoberg", id.Username)

	g.op.SetGroups("staff-karin", []string{"ledger-former-staff"})
	_, err = g.signIn(g.browser(nil), "staff", "staff-karin")
	assert.ErrorIs(t, err, auth.ErrNoRole)
}

func TestRefusedSignIns(t *testing.T) {
	g := newRig(t)
	param := func(name, value string) func(*url.URL) {
		return func(u *url.URL) {
			q := u.Query()
			if q.Has(name) {
				q.Set(name, value)
				u.RawQuery = q.Encode()
			}
		}
	}
	t.Run("state tampered", func(t *testing.T) {
		_, err := g.signIn(g.browser(func(u *url.URL) {
			if strings.Contains(u.Path, "/callback") {
				param("state", "forged")(u)
			}
		}), "eid", "199001011234")
		assert.ErrorIs(t, err, auth.ErrState)
	})
	t.Run("nonce tampered", func(t *testing.T) {
		_, err := g.signIn(g.browser(func(u *url.URL) {
			if strings.HasSuffix(u.Path, "/authorize") {
				param("nonce", "forged")(u)
			}
		}), "eid", "199001011234")
		assert.ErrorIs(t, err, auth.ErrNonce)
	})
	t.Run("expired ID token", func(t *testing.T) {
		g.mu.Lock()
		g.now = time.Now().Add(time.Hour)
		g.mu.Unlock()
		defer func() { g.mu.Lock(); g.now = time.Now(); g.mu.Unlock() }()
		_, err := g.signIn(g.browser(nil), "eid", "199001011234")
		assert.ErrorIs(t, err, auth.ErrExpired)
	})
	t.Run("token from an unknown issuer", func(t *testing.T) {
		_, err := g.signIn(g.browser(nil), "rogue", "199001011234")
		assert.ErrorIs(t, err, auth.ErrToken)
		assert.ErrorContains(t, err, "issued by a different provider")
	})
	t.Run("replayed code", func(t *testing.T) {
		c := g.browser(nil)
		_, err := g.signIn(c, "eid", "199001011234")
		require.NoError(t, err)
		g.mu.Lock()
		first, _ := url.Parse(g.callbacks[len(g.callbacks)-1])
		g.mu.Unlock()
		// Replayed as it was: no sign-in in progress with that state.
		res, err := c.Get(g.rpURL + first.String())
		require.NoError(t, err)
		res.Body.Close()
		g.mu.Lock()
		assert.ErrorIs(t, g.last.err, auth.ErrState)
		g.mu.Unlock()
		// Replayed inside a fresh sign-in (right state, old code).
		_, err = g.signIn(g.browser(func(u *url.URL) {
			if strings.Contains(u.Path, "/callback") {
				param("code", first.Query().Get("code"))(u)
			}
		}), "eid", "199001011234")
		assert.ErrorIs(t, err, auth.ErrCode)
	})
	assert.False(t, errors.Is(auth.ErrCode, auth.ErrState))
}

func TestDevProviderOnlyOnLoopback(t *testing.T) {
	for _, iss := range []string{"http://192.0.2.1:8081", "https://127.0.0.1:8081", "http://example.org", "http://127.0.0.1:8081/x"} {
		_, err := auth.NewDevProvider(iss, nil, nil, nil)
		assert.Error(t, err, iss)
	}
}
