package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

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

// ledgerNode is a whole ledger as `ledger serve` wires it (store, keys,
// service, integrity log, projections runner, the HTTP API with the pages
// mounted), served on a loopback port.
type ledgerNode struct {
	t      testing.TB
	ctx    context.Context
	store  eventstore.Store
	svc    *ledger.Service
	runner *projections.Runner
	integ  *integrity.Log
	url    string
	tokens map[string]string // name → bearer token
	seed   seeded
}

// Staff of the fixture: two moderators, so appeals can be decided by the
// one who did not decide.
var (
	admin    = domain.Actor{ID: "maria.holm", Role: domain.RoleAdmin}
	official = domain.Actor{ID: "anna.lindqvist", Role: domain.RoleOfficial}
	modA     = domain.Actor{ID: "karin.sjoberg", Role: domain.RoleModerator}
	modB     = domain.Actor{ID: "omar.haddad", Role: domain.RoleModerator}
	auditor  = domain.Actor{ID: "per.wallin", Role: domain.RoleAuditor}
)

func newNode(t testing.TB) *ledgerNode {
	t.Helper()
	var s seeded
	n := newNodeWith(t, func(ctx context.Context, svc *ledger.Service) { s = seed(t, ctx, svc) })
	n.seed = s
	return n
}

// newNodeWith builds a node and fills it with fill (through the command
// service), waiting until everything is projected.
func newNodeWith(t testing.TB, fill func(context.Context, *ledger.Service)) *ledgerNode {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	store := memory.New()
	keys, err := privacy.Open(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	integ, err := integrity.Open(dir, integrity.WithCheckpointInterval(50*time.Millisecond))
	require.NoError(t, err)
	pseudonymKey := []byte("0123456789abcdef0123456789abcdef")
	runner, err := projections.NewRunner(store, projections.Config{Dir: filepath.Join(dir, "projections"),
		Options: projections.Options{PseudonymKey: pseudonymKey}})
	require.NoError(t, err)
	svc := ledger.New(store, keys)
	pages, err := web.New(web.Config{Service: svc, Store: store, Runner: runner, Integrity: integ,
		Live: ledgerhttp.LiveFeed(runner.Hub(), nil)})
	require.NoError(t, err)
	api, err := ledgerhttp.NewServer(ledgerhttp.Config{Service: svc, Mount: pages.Mount})
	require.NoError(t, err)
	srv := httptest.NewServer(api)

	done := make(chan struct{}, 2)
	go func() { integ.Run(ctx, store); done <- struct{}{} }()
	go func() { runner.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		<-done
		<-done
		api.Close()
		integ.Close()
		store.Close()
	})
	n := &ledgerNode{t: t, ctx: ctx, store: store, svc: svc, runner: runner, integ: integ, url: srv.URL, tokens: map[string]string{}}
	for _, a := range []domain.Actor{official, modA, modB, auditor} {
		res, err := svc.IssueToken(ctx, admin, rq("token-"+a.ID, ledger.IssueToken{Name: a.ID, Role: a.Role}))
		require.NoError(t, err)
		n.tokens[a.ID] = res.Token
	}
	fill(ctx, svc)
	n.caughtUp()
	return n
}

func rq[C any](key string, c C) ledger.Request[C] {
	return ledger.Request[C]{Command: c, IdempotencyKey: key}
}

// caughtUp waits until the read models and the integrity log have applied
// everything appended so far.
func (n *ledgerNode) caughtUp() {
	n.t.Helper()
	head, err := n.store.Head(n.ctx)
	require.NoError(n.t, err)
	ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
	defer cancel()
	require.NoError(n.t, n.runner.Wait(ctx, head))
	_, err = n.integ.WaitFor(ctx, head)
	require.NoError(n.t, err)
}

// seeded names what the seed created; the tests assert on these numbers.
type seeded struct {
	cycling, hyllie      string // processes: post-moderated with threshold 3; pre-moderated
	popular, hidden      string // submissions: supported past the threshold; hidden by modA and appealed
	answered, pending    string // forwarded and answered, with an open notice; awaiting pre-moderation
	comment              string // a comment on popular
	hideDecision, appeal string
	headBeforeHide       eventstore.Position
}

const (
	popularTitle  = "Cykelbana längs Amiralsgatan"
	hiddenTitle   = "Rivningsförslag för Folkets park"
	answeredTitle = "Fler bänkar vid Rosengårds centrum"
	pendingTitle  = "Bevara kolonilotterna i Holma"
	decisionRef   = "KS 2024-09-09 §418"
	hideReason    = "Inlägget innehåller personangrepp mot en namngiven tjänsteperson."
)

// seed writes a small Malmö-like ledger through the command service, so
// every event is checked by the domain and sealed like in production.
func seed(t testing.TB, ctx context.Context, svc *ledger.Service) seeded {
	t.Helper()
	var s seeded
	must := func(res ledger.Result, err error) ledger.Result {
		t.Helper()
		require.NoError(t, err)
		return res
	}
	accepts := []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport}
	s.cycling = must(svc.OpenProcess(ctx, official, rq("p1", domain.OpenProcess{
		Title:       domain.Text{Sv: "Tryggare cykelvägar i Rosengård", En: "Safer cycle routes in Rosengård"},
		Description: domain.Text{Sv: "Lämna förslag på hur cykelvägarna kan bli tryggare.", En: "Suggest how the cycle routes can be safer."},
		Kind:        domain.KindProposal, OwnerBody: "Tekniska nämnden", CaseNumber: "TN-2024-1234",
		Administrations: []string{"Fastighets- och gatukontoret", "Stadsbyggnadskontoret"},
		Phases: []domain.Phase{{Name: "förslag", StartsAt: time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC), Accepts: accepts},
			{Name: "beslut", StartsAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}},
		SupportThreshold: 3, ModerationMode: domain.ModerationPost, PolicyReference: "Malmö stads riktlinjer för dialog 2023",
	}))).ID
	s.hyllie = must(svc.OpenProcess(ctx, official, rq("p2", domain.OpenProcess{
		Title: domain.Text{Sv: "Samråd om översiktsplanen för Hyllie"}, Kind: domain.KindConsultation,
		OwnerBody: "Stadsbyggnadsnämnden", CaseNumber: "SBN-2025-1130", Administrations: []string{"Stadsbyggnadskontoret"},
		Phases:         []domain.Phase{{Name: "samråd", StartsAt: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), Accepts: accepts}},
		ModerationMode: domain.ModerationPre, PolicyReference: "Malmö stads riktlinjer för dialog 2023",
	}))).ID
	intake := domain.Actor{ID: "ida.intake", Role: domain.RoleIntake}
	var people []string
	for i, name := range []string{"Cykelpump36", "Bokträd16", "Hamnkran32", "Sjöstjärna20"} {
		people = append(people, must(svc.RegisterParticipant(ctx, intake, rq("reg-"+name, domain.RegisterParticipant{
			Pseudonym: name, Name: "Invånare " + name, Email: strings.ToLower(name) + "@example.se",
			District: []string{"Rosengård", "Husie", "Limhamn-Bunkeflo", "Hyllie"}[i], AgeBand: "30-39", Language: "sv",
		}))).ID)
	}
	as := func(id string) domain.Actor { return domain.Actor{ID: id, Role: domain.RoleParticipant} }
	submit := func(key, process, who, title, body string) string {
		return must(svc.ReceiveSubmission(ctx, as(who), process, rq(key, domain.ReceiveSubmission{Language: "sv", Title: title, Body: body}))).ID
	}
	s.popular = submit("s1", s.cycling, people[0], popularTitle, "Separera cykelbanan från bilarna hela vägen till Värnhem.")
	s.hidden = submit("s2", s.cycling, people[1], hiddenTitle, "Text som bryter mot riktlinjerna.")
	s.answered = submit("s3", s.cycling, people[2], answeredTitle, "Äldre behöver kunna vila på vägen till torget.")
	s.pending = submit("s4", s.hyllie, people[3], pendingTitle, "Kolonilotterna är viktiga för grannskapet.")
	for i, who := range people[1:] {
		must(svc.GiveSupport(ctx, as(who), s.popular, rq("sup-"+string(rune('a'+i)), domain.GiveSupport{})))
	}
	s.comment = must(svc.PostComment(ctx, as(people[1]), s.popular, rq("c1", domain.PostComment{Language: "sv", Body: "Bra idé, jag cyklar där varje dag."}))).ID

	// A resident's notice about s2; modA hides it with a full statement of
	// reasons; its author appeals.
	flagged := must(svc.FlagContent(ctx, as(people[2]), domain.ItemSubmission, s.hidden, rq("f1", domain.FlagContent{
		ContentVersion: 1, Source: domain.FlagByParticipant, Category: domain.CategoryIllegalOrHarmfulSpeech})))
	flag := flagged.ID
	s.headBeforeHide = flagged.Last().Position
	s.hideDecision = must(svc.DecideModeration(ctx, modA, domain.ItemSubmission, s.hidden, rq("d1", domain.DecideModeration{
		ContentVersion: 1, Visibility: domain.VisibilityDisabled, Ground: domain.GroundIncompatible,
		PolicyClause: "Riktlinjerna 4.2 (personangrepp)", Category: domain.CategoryIllegalOrHarmfulSpeech,
		GroundExplanation: "Riktlinjerna förbjuder personangrepp.",
		Explanation:       hideReason, AutomatedDecision: domain.AutomatedNot, Source: domain.SourceParticipantNotice,
		FlagIDs: []string{flag}}))).ID
	s.appeal = must(svc.FileAppeal(ctx, as(people[1]), domain.ItemSubmission, s.hidden, rq("a1", domain.FileAppeal{
		DecisionID: s.hideDecision, Grounds: "Jag kritiserade ett beslut, inte en person."}))).ID

	// s3 is forwarded (remiss) and answered, and carries an open notice.
	must(svc.ForwardSubmission(ctx, official, s.answered, rq("fw1", domain.ForwardSubmission{
		To: "Fastighets- och gatukontoret", Note: "För yttrande", CaseNumber: "FGK-2024-1893", RespondBy: "2024-11-15"})))
	must(svc.PublishResponse(ctx, official, s.answered, rq("r1", domain.PublishResponse{
		Body: "Kommunstyrelsen bifaller förslaget.", ResponsibleBody: "Kommunstyrelsen",
		DecisionReference: decisionRef, Outcome: domain.OutcomeApproved})))
	must(svc.FlagContent(ctx, as(people[3]), domain.ItemSubmission, s.answered, rq("f2", domain.FlagContent{
		ContentVersion: 1, Source: domain.FlagByParticipant, Category: domain.CategoryOtherViolationTC})))
	return s
}

// client is one browser-less session with a cookie jar.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func (n *ledgerNode) client() *client {
	jar, err := cookiejar.New(nil)
	require.NoError(n.t, err)
	return &client{t: n.t, base: n.url, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) get(path string, hdr ...string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest("GET", c.base+path, nil)
	require.NoError(c.t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res.StatusCode, string(b)
}

func (c *client) post(path string, form url.Values) (int, string, string) {
	c.t.Helper()
	res, err := c.hc.PostForm(c.base+path, form)
	require.NoError(c.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(c.t, err)
	return res.StatusCode, res.Header.Get("Location"), string(b)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// hidden returns the hidden fields of the first form in page that posts to
// action.
func hidden(t testing.TB, page, action string) url.Values {
	t.Helper()
	i := strings.Index(page, `action="`+action+`"`)
	require.GreaterOrEqual(t, i, 0, "no form posting to %s", action)
	end := strings.Index(page[i:], "</form>")
	v := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(page[i:i+end], -1) {
		v.Add(m[1], m[2])
	}
	return v
}

// login logs c in with the token of staff member name.
func (c *client) login(n *ledgerNode, name string) {
	c.t.Helper()
	_, page := c.get("/login")
	f := hidden(c.t, page, "/login")
	f.Set("token", n.tokens[name])
	status, loc, _ := c.post("/login", f)
	require.Equal(c.t, http.StatusSeeOther, status)
	require.NotEqual(c.t, "/login", loc)
}
