package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	ledgerhttp "github.com/malmo/participation-ledger/http"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/projections"
	"github.com/malmo/participation-ledger/web"
)

// clock is a settable clock shared by the sessions and the relying party.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// signinNode is a whole ledger with the pages, the development OpenID
// provider (the same code `make run` serves) on its own loopback port, and
// a relying party with three providers: residents, staff, and a mix-up
// provider whose discovery claims an issuer its tokens do not carry.
type signinNode struct {
	*ledgerNode
	op       *auth.DevProvider
	opURL    string
	sessions *auth.Sessions
	rpClock  *clock
	sClock   *clock
}

func newSigninNode(t *testing.T) *signinNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	store := memory.New()
	keys, err := privacy.Open(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	integ, err := integrity.Open(dir, integrity.WithCheckpointInterval(50*time.Millisecond))
	require.NoError(t, err)
	runner, err := projections.NewRunner(store, projections.Config{Dir: filepath.Join(dir, "projections"),
		Options: projections.Options{PseudonymKey: []byte("0123456789abcdef0123456789abcdef")}})
	require.NoError(t, err)
	svc := ledger.New(store, keys)

	n := &signinNode{rpClock: &clock{}, sClock: &clock{}}
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	opLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	n.opURL = "http://" + opLn.Addr().String()
	cb := func(p string) string { return base + "/signin/" + p + "/callback" }
	n.op, err = auth.NewDevProvider(n.opURL, []auth.DevClient{
		{ID: "eid", Secret: "s1", Residents: true, RedirectURIs: []string{cb("eid"), cb("rogue")}, PostLogout: []string{base + "/"}},
		{ID: "directory", Secret: "s2", RedirectURIs: []string{cb("directory")}, PostLogout: []string{base + "/"}},
	}, []auth.DevPerson{
		{Subject: "19900101-1234", Name: "Alex Andersson", Email: "alex@example.org", Resident: true},
		{Subject: "staff-karin", Name: "Karin Sjöberg", Username: "karin.sjoberg", Groups: []string{"malmo-moderatorer"}},
	}, nil)
	require.NoError(t, err)
	opSrv := &httptest.Server{Listener: opLn, Config: &http.Server{Handler: n.op}}
	opSrv.Start()
	mixup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := http.Get(n.opURL + r.URL.Path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		w.Write([]byte(strings.Replace(string(b), `"issuer":"`+n.opURL+`"`, `"issuer":"http://`+r.Host+`"`, 1)))
	}))

	rp, err := auth.NewRelyingParty([]auth.ProviderConfig{
		{Name: "eid", Label: "BankID", Kind: auth.Residents, Issuer: n.opURL, ClientID: "eid", ClientSecret: "s1", RedirectURL: cb("eid"),
			Scopes: []string{"openid", "profile", "email"}, NameClaim: "name", EmailClaim: "email"},
		{Name: "directory", Label: "Malmö stads katalog", Kind: auth.Staff, Issuer: n.opURL, ClientID: "directory", ClientSecret: "s2",
			RedirectURL: cb("directory"), Scopes: []string{"openid", "profile", "groups"}, UsernameClaim: "preferred_username",
			RoleClaim: "groups", Roles: []auth.RoleMapping{{Group: "malmo-moderatorer", Role: domain.RoleModerator}}},
		{Name: "rogue", Label: "Okänd", Kind: auth.Residents, Issuer: mixup.URL, ClientID: "eid", ClientSecret: "s1", RedirectURL: cb("rogue"),
			Scopes: []string{"openid"}},
	}, auth.WithClock(n.rpClock.now))
	require.NoError(t, err)
	link, err := auth.NewLink([]byte("link-key-0123456789abcdef0123456789"), store)
	require.NoError(t, err)
	n.sessions = auth.NewSessions(auth.SessionConfig{Now: n.sClock.now})
	receipt := func(ctx context.Context, ev ledger.Appended) (any, error) {
		if _, err := integ.WaitFor(ctx, ev.Position); err != nil {
			return nil, err
		}
		evs, err := store.ReadAll(ctx, ev.Position-1, 1)
		if err != nil || len(evs) != 1 {
			return nil, fmt.Errorf("event at %d: %v", ev.Position, err)
		}
		return integ.Receipt(evs[0])
	}
	pages, err := web.New(web.Config{Service: svc, Store: store, Runner: runner, Integrity: integ,
		Sessions: n.sessions, SignIn: rp, Link: link, Live: ledgerhttp.LiveFeed(runner.Hub(), nil), Receipt: receipt})
	require.NoError(t, err)
	api, err := ledgerhttp.NewServer(ledgerhttp.Config{Service: svc, Mount: pages.Mount, Sessions: n.sessions})
	require.NoError(t, err)
	srv.Config.Handler = api
	srv.Start()

	done := make(chan struct{}, 2)
	go func() { integ.Run(ctx, store); done <- struct{}{} }()
	go func() { runner.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		opSrv.Close()
		mixup.Close()
		cancel()
		<-done
		<-done
		api.Close()
		integ.Close()
		store.Close()
	})
	n.ledgerNode = &ledgerNode{t: t, ctx: ctx, store: store, svc: svc, runner: runner, integ: integ, url: base, tokens: map[string]string{}}
	return n
}

func (n *signinNode) head() eventstore.Position {
	n.t.Helper()
	h, err := n.store.Head(n.ctx)
	require.NoError(n.t, err)
	return h
}

// requests records the URLs a browser context requests.
type requests struct {
	mu   sync.Mutex
	urls []string
}

func (q *requests) listen(t *testing.T, ctx context.Context) {
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			q.mu.Lock()
			q.urls = append(q.urls, e.Request.URL)
			q.mu.Unlock()
		}
	}))
}

// last returns the last recorded URL containing part.
func (q *requests) last(t *testing.T, part string) *url.URL {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := len(q.urls) - 1; i >= 0; i-- {
		if strings.Contains(q.urls[i], part) {
			u, err := url.Parse(q.urls[i])
			require.NoError(t, err)
			return u
		}
	}
	t.Fatalf("no request to %s", part)
	return nil
}

// atProvider starts a sign-in with provider p and waits for the provider's
// login page.
func (b *browser) atProvider(ctx context.Context, p string) {
	b.t.Helper()
	b.open(ctx, "/signin")
	c, cancel := within(ctx, 15*time.Second)
	defer cancel()
	err := chromedp.Do(c, chromedp.Click(chromedp.ID("signin-"+p)), chromedp.WaitVisible(chromedp.ID("signin")))
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("html"))
		b.t.Fatalf("at %s: %v\n%s", loc, err, html)
	}
}

// pick chooses a person on the provider's page and waits for the ledger's
// page it leads to.
func (b *browser) pick(ctx context.Context, subject string) {
	b.t.Helper()
	c, cancel := within(ctx, 15*time.Second)
	defer cancel()
	err := chromedp.Do(c, chromedp.Click(`input[value="`+subject+`"]`), chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(`header.site`))
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML("html"))
		b.t.Fatalf("at %s: %v\n%s", loc, err, html)
	}
}

func (b *browser) location(ctx context.Context) *url.URL {
	b.t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(b.t, err)
	u, err := url.Parse(loc)
	require.NoError(b.t, err)
	return u
}

// navigate goes to an absolute URL and waits for a page with a main.
func (b *browser) navigate(ctx context.Context, u string) {
	b.t.Helper()
	c, cancel := within(ctx, 15*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(c, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.ID("main"))), u)
}

// await evaluates a promise in the page.
func await[T any](b *browser, ctx context.Context, js string) T {
	b.t.Helper()
	c, cancel := within(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, js)
	return v
}

func TestSignInBrowser(t *testing.T) {
	ctx, b := newBrowser(t)
	n := newSigninNode(t)
	b.base = n.url

	var participant string
	res := session(t, ctx) // the resident's browser, used by two subtests
	t.Run("a resident signs up, signs out, and signs in again as the same participant", func(t *testing.T) {
		b.t = t
		b.page(res, "/signin", "signin-sv")
		b.atProvider(res, "eid")
		b.accessible(res, "dev-provider-login")
		b.shot(res, "dev-provider-login")
		before := n.head()
		b.pick(res, "19900101-1234")
		assert.Equal(t, "/signup", b.location(res).Path)
		assert.Equal(t, before, n.head(), "nothing is recorded before the resident has chosen")
		b.accessible(res, "signup-sv")
		b.shot(res, "signup-sv")
		assert.Contains(t, b.text(res, "#signup-form"), "Visa mitt namn (Alex Andersson)")
		assert.Contains(t, b.text(res, "#signup-form"), "GDPR art. 6.1 e")

		// Without a pseudonym the form says so, linked to the field.
		b.submit(res, "#signup")
		assert.Contains(t, b.text(res, "#error-summary"), "Skriv en signatur")
		b.accessible(res, "signup-error-sv")
		require.NoError(t, chromedp.Do(res, chromedp.SetValue(chromedp.ID("pseudonym"), "Cykelvännen"),
			chromedp.Click(chromedp.ID("research_use"))))
		b.submit(res, "#signup")
		assert.Equal(t, "/my", b.location(res).Path)
		assert.Contains(t, b.text(res, ".flash"), "Välkommen, Cykelvännen!")
		assert.Equal(t, "Cykelvännen", b.text(res, "#my-pseudonym"))
		participant = b.text(res, "#my-participant")
		b.accessible(res, "my-sv")
		b.shot(res, "my-sv")
		me := await[map[string]any](b, res, `fetch('/v1/me').then(r => r.json())`)
		assert.Equal(t, map[string]any{"role": "participant", "actor": participant, "participant": participant,
			"pseudonym": "Cykelvännen", "via": "session"}, me)

		// The log holds the participant, never the provider's subject, and
		// the name and e-mail only sealed.
		p, err := auth.Participant(n.ctx, n.store, participant)
		require.NoError(t, err)
		assert.True(t, p.Exists)
		assert.True(t, p.ResearchUse)
		assert.False(t, p.PublishName)
		evs, err := n.store.ReadAll(n.ctx, 0, 10_000)
		require.NoError(t, err)
		for _, e := range evs {
			raw := string(e.Data) + e.Metadata.Actor
			for _, secret := range []string{"19900101-1234", "Alex Andersson", "alex@example.org"} {
				assert.NotContains(t, raw, secret, "event %s (%s)", e.ID, e.Type)
			}
		}

		// Signing out ends the session here and at the provider.
		var q requests
		q.listen(t, res)
		b.submit(res, `form.logout button`)
		assert.Equal(t, "/", b.location(res).Path)
		assert.Equal(t, "/end_session", q.last(t, "/end_session").Path)
		b.open(res, "/my")
		assert.Equal(t, "/signin", b.location(res).Path)
		assert.Equal(t, float64(401), await[float64](b, res, `fetch('/v1/me').then(r => r.status)`))

		b.atProvider(res, "eid")
		b.pick(res, "19900101-1234")
		assert.Equal(t, "/my", b.location(res).Path, "no second sign-up")
		assert.Equal(t, participant, b.text(res, "#my-participant"))
	})

	t.Run("the own page: contributions, decisions with reasons, answers, receipts, appeal, consent, download, erasure", func(t *testing.T) {
		b.t = t
		require.NotEmpty(t, participant)
		must := func(res ledger.Result, err error) ledger.Result {
			t.Helper()
			require.NoError(t, err)
			return res
		}
		me := domain.Actor{ID: participant, Role: domain.RoleParticipant}
		accepts := []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport}
		process := must(n.svc.OpenProcess(n.ctx, official, rq("own-p", domain.OpenProcess{
			Title: domain.Text{Sv: "Trygga skolvägar", En: "Safe routes to school"}, Kind: domain.KindProposal,
			OwnerBody: "Tekniska nämnden", CaseNumber: "TN-2025-0042", Administrations: []string{"Fastighets- och gatukontoret"},
			Phases:         []domain.Phase{{Name: "förslag", StartsAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Accepts: accepts}},
			ModerationMode: domain.ModerationPost, PolicyReference: "Malmö stads riktlinjer för dialog 2023",
		}))).ID
		hidden := must(n.svc.ReceiveSubmission(n.ctx, me, process, rq("own-s1", domain.ReceiveSubmission{Language: "sv",
			Title: "Stäng Amiralsgatan för bilar", Body: "Namngiven tjänsteperson är inkompetent."}))).ID
		answered := must(n.svc.ReceiveSubmission(n.ctx, me, process, rq("own-s2", domain.ReceiveSubmission{Language: "sv",
			Title: "Övergångsställe vid Sofielundsskolan", Body: "Barnen korsar en bred gata utan övergångsställe."}))).ID
		decision := must(n.svc.DecideModeration(n.ctx, modA, domain.ItemSubmission, hidden, rq("own-d1", domain.DecideModeration{
			ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible,
			PolicyClause: "Riktlinjerna 4.2 (personangrepp)", Category: domain.CategoryIllegalOrHarmfulSpeech,
			GroundExplanation: "Riktlinjerna förbjuder personangrepp.", Explanation: hideReason,
			AutomatedDecision: domain.AutomatedNot, Source: domain.SourceOwnInitiative}))).ID
		must(n.svc.ForwardSubmission(n.ctx, official, answered, rq("own-fw", domain.ForwardSubmission{
			To: "Fastighets- och gatukontoret", CaseNumber: "FGK-2025-0107"})))
		must(n.svc.PublishResponse(n.ctx, official, answered, rq("own-r", domain.PublishResponse{
			Body: "Ett övergångsställe byggs under våren.", ResponsibleBody: "Tekniska nämnden",
			DecisionReference: decisionRef, Outcome: domain.OutcomeApproved})))
		n.caughtUp()

		b.open(res, "/my")
		hiddenItem := b.text(res, "#item-"+hidden)
		assert.Contains(t, hiddenItem, "Stäng Amiralsgatan för bilar")
		assert.Contains(t, hiddenItem, "Dolt")
		assert.Contains(t, hiddenItem, hideReason, "the full statement of reasons")
		assert.Contains(t, hiddenItem, "Riktlinjerna 4.2 (personangrepp)")
		assert.Contains(t, hiddenItem, "Riktlinjerna förbjuder personangrepp.")
		answeredItem := b.text(res, "#item-"+answered)
		assert.Contains(t, answeredItem, "Besvarat")
		assert.Contains(t, answeredItem, "Ett övergångsställe byggs under våren.")
		assert.Contains(t, answeredItem, decisionRef)
		assert.Contains(t, answeredItem, "Fastighets- och gatukontoret")
		assert.Equal(t, 3, eval[int](b, res, `document.querySelectorAll('#receipts tbody tr').length`), "registration and two proposals")
		b.accessible(res, "my-full-sv")
		b.shot(res, "my-full-sv")

		// A receipt of one's own write, for `ledger verify --receipt`.
		receipt := await[map[string]any](b, res, `fetch(document.querySelector('#receipts a[download]').href).then(r => r.json())`)
		assert.Contains(t, receipt, "leaf_index")
		assert.NotEmpty(t, receipt["checkpoint"])

		// Appeal with grounds: none is refused with a message; then filed.
		b.submit(res, "#appeal-"+decision+" button")
		assert.Contains(t, b.text(res, "#error-summary"), "Skriv dina skäl")
		before := n.head()
		require.NoError(t, chromedp.Do(res, chromedp.SetValue(chromedp.ID("grounds-"+decision), "Jag kritiserade ett beslut, inte en person.")))
		b.submit(res, "#appeal-"+decision+" button")
		assert.Contains(t, b.text(res, ".flash"), "överprövning är registrerad")
		assert.Contains(t, b.text(res, "#decision-"+decision), "Jag kritiserade ett beslut, inte en person.")
		assert.Contains(t, b.text(res, "#decision-"+decision), "inte avgjord")
		assert.Greater(t, n.head(), before)

		// Consent: publish the name too.
		require.NoError(t, chromedp.Do(res, chromedp.Click(chromedp.ID("publish_name"))))
		b.submit(res, "#consent-save")
		assert.Contains(t, b.text(res, ".flash"), "samtycken är sparade")
		p, err := auth.Participant(n.ctx, n.store, participant)
		require.NoError(t, err)
		assert.True(t, p.PublishName)
		assert.True(t, p.ResearchUse)

		// Everything recorded, in plain text for the person themself.
		data := await[string](b, res, `fetch('/my/data.json').then(r => r.text())`)
		for _, want := range []string{"Alex Andersson", "alex@example.org", "Stäng Amiralsgatan för bilar", hideReason, "Ett övergångsställe byggs under våren."} {
			assert.Contains(t, data, want)
		}

		// Erasure: the law is explained; the request is recorded and open.
		assert.Contains(t, b.text(res, "#erasure"), "art. 17.3 b")
		require.NoError(t, chromedp.Do(res, chromedp.SetValue(chromedp.ID("reason"), "Jag vill inte finnas kvar.")))
		b.submit(res, "#erasure-submit")
		assert.Contains(t, b.text(res, ".flash"), "begäran om radering är registrerad")
		assert.Contains(t, b.text(res, "#erasure"), "inte avgjord")
		assert.Equal(t, 0, eval[int](b, res, `document.querySelectorAll('#erasure-form').length`), "one open request at a time")
		b.accessible(res, "my-after-sv")

		// A form without the session's CSRF token is refused.
		before = n.head()
		require.NoError(t, chromedp.Do(res, chromedp.Evaluate[chromedp.Void](`document.querySelector('#consent-form input[name=csrf]').value = 'forged'`),
			chromedp.Click(chromedp.ID("publish_name"))))
		b.submit(res, "#consent-save")
		assert.Contains(t, b.text(res, "#error-summary"), "Formuläret har gått ut")
		assert.Equal(t, before, n.head())
	})

	t.Run("a staff member gets the role from the claim and loses it when the claim changes", func(t *testing.T) {
		b.t = t
		staff := session(t, ctx)
		b.atProvider(staff, "directory")
		b.pick(staff, "staff-karin")
		assert.Equal(t, "/dashboard", b.location(staff).Path)
		assert.Contains(t, b.text(staff, "header.site"), "Inloggad: karin.sjoberg (Moderator)")
		me := await[map[string]any](b, staff, `fetch('/v1/me').then(r => r.json())`)
		assert.Equal(t, "moderator", me["role"], "%v", me)

		// The directory removes the group; after the staff session's short
		// lifetime the next request is not a moderator's, and signing in
		// again finds no role.
		n.op.SetGroups("staff-karin", []string{"malmo-tidigare-anstallda"})
		n.sClock.advance(11 * time.Minute)
		b.open(staff, "/dashboard")
		assert.Equal(t, "/login", b.location(staff).Path)
		before := n.head()
		b.atProvider(staff, "directory")
		b.pick(staff, "staff-karin")
		assert.Contains(t, b.text(staff, "#error-summary"), "ger ingen roll i liggaren")
		b.accessible(staff, "signin-norole-sv")
		b.shot(staff, "signin-norole-sv")
		assert.Equal(t, before, n.head())
		b.open(staff, "/dashboard")
		assert.Equal(t, "/login", b.location(staff).Path)
		n.op.SetGroups("staff-karin", []string{"malmo-moderatorer"})
	})

	t.Run("tampered, expired, foreign and replayed sign-ins are refused and nothing is recorded", func(t *testing.T) {
		b.t = t
		br := session(t, ctx)
		var q requests
		q.listen(t, br)
		refused := func(name, want string) {
			t.Helper()
			assert.Contains(t, b.text(br, "#error-summary"), want, name)
			assert.Contains(t, b.text(br, "#error-summary"), "Ingenting har registrerats", name)
			b.open(br, "/my")
			assert.Equal(t, "/signin", b.location(br).Path, "%s: not signed in", name)
		}
		before := n.head()

		// A callback whose state is not the one this browser started with.
		b.atProvider(br, "eid")
		b.navigate(br, n.url+"/signin/eid/callback?code=anything&state=forged")
		refused("state", "hörde inte till en inloggning")
		b.accessible(br, "signin-refused-sv")
		b.shot(br, "signin-refused-sv")

		// A nonce changed on the way to the provider.
		b.atProvider(br, "eid")
		authz := q.last(t, "/authorize")
		qs := authz.Query()
		qs.Set("nonce", "forged")
		authz.RawQuery = qs.Encode()
		b.navigate(br, authz.String())
		b.pick(br, "19900101-1234")
		refused("nonce", "utfärdat för en annan inloggning")

		// An ID token past its lifetime (the ledger's clock is an hour on).
		n.rpClock.advance(time.Hour)
		b.atProvider(br, "eid")
		b.pick(br, "19900101-1234")
		refused("expired", "har gått ut")
		n.rpClock.advance(-time.Hour)

		// A token from an issuer other than the configured one.
		b.atProvider(br, "rogue")
		b.pick(br, "19900101-1234")
		refused("issuer", "kommer inte från den inloggningstjänst vi litar på")

		// A code used once, replayed as it was and inside a new sign-in.
		b.atProvider(br, "eid")
		b.pick(br, "19900101-1234")
		assert.Equal(t, "/my", b.location(br).Path)
		used := q.last(t, "/signin/eid/callback")
		b.submit(br, `form.logout button`)
		b.navigate(br, used.String())
		refused("replay", "hörde inte till en inloggning")
		b.atProvider(br, "eid")
		state := q.last(t, "/authorize").Query().Get("state")
		b.navigate(br, n.url+"/signin/eid/callback?"+url.Values{"code": {used.Query().Get("code")}, "state": {state}}.Encode())
		refused("replayed code", "Inloggningskoden nekades")
		assert.Equal(t, before, n.head(), "nothing recorded by refused sign-ins")
	})

	t.Run("pages in English", func(t *testing.T) {
		b.t = t
		en := session(t, ctx)
		b.page(en, "/signin?lang=en", "signin-en")
		assert.Equal(t, "Sign in", b.text(en, "h1"))
		b.atProvider(en, "eid")
		b.pick(en, "19900101-1234")
		assert.Equal(t, "/my", b.location(en).Path)
		assert.Equal(t, "My pages", b.text(en, "h1"))
		assert.Contains(t, b.text(en, "#contributions"), "Handling Answered")
		assert.Contains(t, b.text(en, "#contributions"), "Visibility Hidden")
		b.accessible(en, "my-en")
		b.shot(en, "my-en")

		// A phone: nothing wider than 390 px.
		require.NoError(t, chromedp.Do(en, chromedp.EmulateViewport(390, 844)))
		for _, path := range []string{"/my", "/signin"} {
			b.open(en, path)
			assert.LessOrEqual(t, eval[int](b, en, `document.documentElement.scrollWidth`), 390, path+": %s",
				eval[string](b, en, `[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391).slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right)).join('; ')`))
		}
		b.open(en, "/my")
		b.shot(en, "my-en-390")
	})
}
