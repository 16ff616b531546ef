package web_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
)

// text strips tags and unescapes, so assertions read like the page does.
func text(page string) string {
	noTags := regexp.MustCompile(`<[^>]*>`).ReplaceAllString(page, " ")
	return strings.Join(strings.Fields(html.UnescapeString(noTags)), " ")
}

func TestPublicPagesShowTheLedger(t *testing.T) {
	n := newNode(t)
	c := n.client()
	s := n.seed

	status, home := c.get("/", "Accept-Language", "sv")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, home, `<html lang="sv">`)
	assert.Contains(t, text(home), "Tryggare cykelvägar i Rosengård")
	assert.Contains(t, text(home), "TN-2024-1234")
	assert.Contains(t, text(home), "SBN-2025-1130")

	_, proc := c.get("/processes/" + s.cycling)
	pt := text(proc)
	assert.Contains(t, pt, "Förslag 2 ", "two public proposals (one more is hidden)")
	assert.Contains(t, pt, "Dolda förslag 1")
	assert.Contains(t, pt, "Stöd 3")
	assert.Contains(t, pt, "Nådde stödgränsen 1 (gräns: 3 stöd)")
	assert.Contains(t, pt, "beslut (från 2025-01-01)")
	assert.Contains(t, pt, popularTitle)
	assert.Contains(t, pt, "(dolt innehåll)", "the hidden proposal is listed, without its title")
	assert.NotContains(t, pt, hiddenTitle)
	assert.Contains(t, proc, `aria-current="step"`)

	_, pop := c.get("/submissions/" + s.popular)
	popT := text(pop)
	assert.Contains(t, popT, popularTitle)
	assert.Contains(t, popT, "3 av 3 stöd som behövs")
	assert.Contains(t, popT, "Stödgränsen nådd")
	assert.Contains(t, popT, "Bra idé, jag cyklar där varje dag.")
	assert.Contains(t, popT, "Cykelpump36", "the author's public pseudonym")
	assert.NotContains(t, popT, "Invånare Cykelpump36", "no consent to publish the name")

	_, hid := c.get("/submissions/" + s.hidden)
	hidT := text(hid)
	assert.Contains(t, hidT, "Innehållet är dolt – motivering")
	assert.Contains(t, hidT, hideReason)
	assert.Contains(t, hidT, "Riktlinjerna 4.2 (personangrepp)")
	assert.Contains(t, hidT, "Strider mot riktlinjerna")
	assert.NotContains(t, hidT, "Text som bryter mot riktlinjerna", "hidden content is not shown")

	_, ans := c.get("/submissions/" + s.answered)
	assert.Contains(t, text(ans), decisionRef)
	assert.Contains(t, text(ans), "Skickat till Fastighets- och gatukontoret")

	_, trail := c.get("/items/" + s.hidden + "/trail")
	tt := text(trail)
	assert.Contains(t, tt, "Modereringsbeslut")
	assert.Contains(t, tt, "Begäran om överprövning")
	assert.Regexp(t, `Moderator p-[0-9a-f]{16}`, tt, "public trails name staff by pseudonym")
	assert.NotContains(t, tt, modA.ID)

	_, rep := c.get("/transparency")
	assert.Contains(t, rep, `<dd id="fig-notices">2</dd>`)
	assert.Contains(t, rep, `<dd id="fig-decisions">1</dd>`)
	assert.Contains(t, rep, `<dd id="fig-appeals">1</dd>`)
	assert.Contains(t, rep, `<svg class="chart"`)
	assert.Contains(t, rep, `role="img" aria-labelledby="by-ground-t"`)
	assert.Regexp(t, `<th scope="row">Strider mot riktlinjerna</th><td class="num">1</td>`, rep, "each chart comes with its table")
	_, repTN := c.get("/transparency?body=" + url.QueryEscape("Stadsbyggnadsnämnden"))
	assert.Contains(t, repTN, `<dd id="fig-decisions">0</dd>`, "the body selector scopes the report")
	_, repTo := c.get("/transparency?to=2020-01-01")
	assert.Contains(t, repTo, `<dd id="fig-decisions">0</dd>`, "the period selector scopes the report")

	_, ver := c.get("/verify")
	head, err := n.store.Head(n.ctx)
	require.NoError(t, err)
	cp := n.integ.Checkpoint()
	assert.Contains(t, ver, fmt.Sprintf(`<dd id="checkpoint-size">%d</dd>`, cp.Size))
	assert.Equal(t, int64(head), cp.Size)
	assert.Contains(t, html.UnescapeString(ver), string(cp.Note))
	assert.Contains(t, html.UnescapeString(ver), n.integ.Verifier())

	status, _ = c.get("/submissions/nope")
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = c.get("/submissions/" + s.pending)
	assert.Equal(t, http.StatusNotFound, status, "pre-moderated content is not public before approval")
}

func TestLanguageNegotiationAndSwitch(t *testing.T) {
	n := newNode(t)
	c := n.client()
	_, en := c.get("/", "Accept-Language", "en-GB,en;q=0.9,sv;q=0.5")
	assert.Contains(t, en, `<html lang="en">`)
	assert.Contains(t, text(en), "Safer cycle routes in Rosengård")
	assert.Contains(t, en, `<a class="lang" id="lang-switch" href="/?lang=sv" lang="sv" hreflang="sv">På svenska</a>`)
	// A title only in Swedish is marked as Swedish on the English page.
	assert.Contains(t, en, `lang="sv">Samråd om översiktsplanen för Hyllie</a>`)

	_, sv := c.get("/?lang=sv", "Accept-Language", "en")
	assert.Contains(t, sv, `<html lang="sv">`)
	_, again := c.get("/transparency", "Accept-Language", "en")
	assert.Contains(t, again, `<html lang="sv">`, "the switch is remembered")
	assert.Contains(t, again, "Transparensrapport")
	_, back := c.get("/transparency?lang=en")
	assert.Contains(t, back, "Transparency report")
}

func TestAsOfShowsThePast(t *testing.T) {
	n := newNode(t)
	c := n.client()
	s := n.seed
	before := strconv.FormatUint(uint64(s.headBeforeHide), 10)

	_, now := c.get("/submissions/" + s.hidden)
	assert.Contains(t, text(now), "Innehållet är dolt")
	status, then := c.get("/submissions/" + s.hidden + "?as_of=" + before)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, text(then), hiddenTitle, "before the decision the proposal was public")
	assert.NotContains(t, text(then), "Innehållet är dolt")
	assert.Contains(t, text(then), "Historisk vy. Du ser liggaren som den var vid position "+before)
	root, err := n.integ.Root(int64(s.headBeforeHide))
	require.NoError(t, err)
	assert.Contains(t, html.UnescapeString(then), root.String(), "the page names the Merkle root at that position")
	assert.Contains(t, then, `href="/processes/`+s.cycling+`?as_of=`+before+`"`, "links stay in the past")

	_, trailThen := c.get("/items/" + s.hidden + "/trail?as_of=" + before)
	assert.NotContains(t, text(trailThen), "Modereringsbeslut")
	_, repThen := c.get("/transparency?as_of=" + before)
	assert.Contains(t, repThen, `<dd id="fig-decisions">0</dd>`)
	assert.Contains(t, repThen, `<input type="hidden" name="as_of" value="`+before+`">`)

	// A time: the end of a day long before the ledger began shows nothing.
	_, audit := c.get("/audit?as_of=2001-01-01")
	assert.Contains(t, audit, `<dd id="audit-position">0</dd>`)
	_, audit = c.get("/audit?as_of=" + before)
	assert.Contains(t, audit, `<dd id="audit-position">`+before+`</dd>`)
	status, _ = c.get("/audit?as_of=yesterday")
	assert.Equal(t, http.StatusBadRequest, status)
}

func TestLogin(t *testing.T) {
	n := newNode(t)
	c := n.client()
	status, loc, _ := c.post("/login", url.Values{"token": {n.tokens[official.ID]}})
	assert.Equal(t, http.StatusForbidden, status, "no login CSRF token")
	assert.Empty(t, loc)

	_, page := c.get("/login")
	f := hidden(t, page, "/login")
	f.Set("token", "not-a-token")
	status, _, body := c.post("/login", f)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, text(body), "Nyckeln är okänd eller återkallad.")

	resident, err := n.svc.RegisterParticipant(n.ctx, admin, rq("reg-resident", domain.RegisterParticipant{Pseudonym: "Invånare", Language: "sv"}))
	require.NoError(t, err)
	part, err := n.svc.IssueToken(n.ctx, admin, rq("tok-part", ledger.IssueToken{Name: "resident", Role: domain.RoleParticipant, Participant: resident.ID}))
	require.NoError(t, err)
	_, page = c.get("/login")
	f = hidden(t, page, "/login")
	f.Set("token", part.Token)
	status, _, _ = c.post("/login", f)
	assert.Equal(t, http.StatusForbidden, status, "participants have no dashboard")

	status, loc, _ = c.post("/dashboard/items/submission/"+n.seed.pending+"/decision", url.Values{})
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/login", loc)

	c.login(n, official.ID)
	status, dash := c.get("/dashboard")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, text(dash), "Inloggad: anna.lindqvist (Tjänsteperson)")
	// The session cookie is HttpOnly and SameSite=Lax (the sign-in
	// callback is a navigation from the provider), and a random id, never
	// the token.
	res, err := http.PostForm(n.url+"/login", url.Values{})
	require.NoError(t, err)
	res.Body.Close()
	_, page = c.get("/login")
	f = hidden(t, page, "/login")
	f.Set("token", n.tokens[official.ID])
	req, _ := http.NewRequest("POST", n.url+"/login", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range c.hc.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	res, err = c.hc.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	set := strings.Join(res.Header.Values("Set-Cookie"), "\n")
	assert.Regexp(t, `ledger_session=[^;]+; Path=/; HttpOnly; SameSite=Lax`, set)
	assert.NotContains(t, set, n.tokens[official.ID])

	// Officials see the queue and the content but get no decision form.
	_, item := c.get("/dashboard/items/submission/" + n.seed.pending)
	assert.Contains(t, text(item), pendingTitle)
	assert.NotContains(t, item, `id="decision-form"`)
	assert.Contains(t, text(item), "Bara moderatorer fattar beslut om innehåll.")
}

func TestModerationForm(t *testing.T) {
	n := newNode(t)
	s := n.seed
	c := n.client()
	c.login(n, modB.ID)
	action := "/dashboard/items/submission/" + s.pending + "/decision"
	_, page := c.get("/dashboard/items/submission/" + s.pending)
	assert.Contains(t, text(page), "Version 1 (registrerad")
	assert.Contains(t, text(page), pendingTitle, "the moderator sees the content decided on")
	form := hidden(t, page, action)
	assert.Equal(t, "1", form.Get("content_version"))
	assert.NotEmpty(t, form.Get("idempotency_key"))
	head := func() uint64 {
		h, err := n.store.Head(n.ctx)
		require.NoError(t, err)
		return uint64(h)
	}
	before := head()

	// A restriction without reasons is refused, naming every gap.
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("visibility", string(domain.VisibilityDisabled))
	status, _, body := c.post(action, bad)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	bt := text(body)
	assert.Contains(t, bt, "Beslutet registrerades inte. Det saknas:")
	for _, field := range []string{"Grund", "Punkt i riktlinjerna eller lagrum", "Kategori", "Motivering",
		"Varför innehållet är olagligt eller strider mot villkoren på den grunden"} {
		assert.Contains(t, bt, field)
	}
	assert.Contains(t, body, `<a href="#explanation">`)
	assert.Equal(t, before, head(), "nothing was appended")

	// Without the CSRF token nothing happens either.
	noCSRF := url.Values{"visibility": {"approved"}, "explanation": {"ok"}, "content_version": {"1"},
		"revision": form["revision"], "idempotency_key": {"k"}}
	status, _, _ = c.post(action, noCSRF)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, before, head())

	// A stale revision is a conflict: the moderator must look again.
	stale := url.Values{}
	for k, v := range form {
		stale[k] = v
	}
	stale.Set("visibility", "approved")
	stale.Set("explanation", "Följer riktlinjerna.")
	stale.Set("revision", "7")
	status, _, body = c.post(action, stale)
	assert.Equal(t, http.StatusConflict, status)
	assert.Contains(t, text(body), "Innehållet har ändrats sedan du öppnade det.")
	assert.Equal(t, before, head())

	ok := url.Values{}
	for k, v := range form {
		ok[k] = v
	}
	ok.Set("visibility", "approved")
	ok.Set("explanation", "Följer riktlinjerna.")
	status, loc, _ := c.post(action, ok)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, before+2, head(), "the decision and the author notice")
	assert.Contains(t, loc, "?done=")
	_, done := c.get(loc)
	assert.Contains(t, text(done), "Beslutet är registrerat")
	// A repeated POST (double click, retry) records nothing new.
	status, _, _ = c.post(action, ok)
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, before+2, head())

	pub := n.client()
	status, sub := pub.get("/submissions/" + s.pending)
	require.Equal(t, http.StatusOK, status, "approved: now public")
	assert.Contains(t, text(sub), pendingTitle)
	_, trail := pub.get("/items/" + s.pending + "/trail")
	assert.Contains(t, text(trail), "Godkänt (publiceras)")
	assert.Contains(t, text(trail), "Följer riktlinjerna.")

	// A restriction through the form carries the whole DSA statement:
	// facts and ground explanation apart, content type, date and scope.
	_, itemPage := c.get("/dashboard/items/submission/" + s.pending)
	assert.Contains(t, itemPage, `id="content_type-text" name="content_type" value="text" checked`, "text is the default content type")
	hide := url.Values{"csrf": form["csrf"], "idempotency_key": {"hide-1"}, "content_version": {"1"},
		"visibility": {"content_labelled"}, "ground": {"incompatible_content"},
		"clause": {"Riktlinjerna 3.1"}, "category": {"other_violation_tc"}, "ground_explanation": {"Inlägget handlar om ett annat ämne än processen."},
		"explanation": {"Förslaget gäller en annan kommun."}, "content_type": {"text"}, "scope": {"SE"}}
	evs, err := n.store.ReadStream(n.ctx, domain.StreamForSubmission(s.pending), eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1})
	require.NoError(t, err)
	hide.Set("revision", strconv.FormatUint(evs[0].Revision, 10))
	status, _, body = c.post(action, hide)
	require.Equal(t, http.StatusSeeOther, status, text(body))
	// The decision, then the author notice.
	evs, err = n.store.ReadStream(n.ctx, domain.StreamForSubmission(s.pending), eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, "AuthorNotified", evs[0].Type)
	evs = evs[1:]
	de, err := domain.Decode(evs[0].Type, evs[0].Version, evs[0].Data)
	require.NoError(t, err)
	d := de.(*domain.ModerationDecided)
	assert.Equal(t, 2, evs[0].Version)
	assert.Equal(t, []domain.ContentType{domain.ContentText}, d.ContentType)
	assert.Equal(t, []string{"SE"}, d.TerritorialScope)
	assert.Equal(t, "Inlägget handlar om ett annat ämne än processen.", d.GroundExplanation)
	assert.Equal(t, "Förslaget gäller en annan kommun.", d.Explanation)
	assert.NotEmpty(t, d.ContentDate, "the ledger fills in the date the version was posted")
	_, trail = pub.get("/items/" + s.pending + "/trail")
	assert.Contains(t, text(trail), "Inlägget handlar om ett annat ämne än processen.")
}

func TestAppealIsNotOfferedToTheDecider(t *testing.T) {
	n := newNode(t)
	s := n.seed
	a := n.client()
	a.login(n, modA.ID)
	_, dash := a.get("/dashboard")
	assert.Contains(t, dash, `data-item="`+s.hidden+`" data-reason="appeal"`)
	assert.Contains(t, text(dash), "(ditt beslut – en annan moderator prövar)")
	assert.NotContains(t, dash, `href="/dashboard/items/submission/`+s.hidden+`"`)
	_, page := a.get("/dashboard/items/submission/" + s.hidden)
	assert.Contains(t, page, `id="appeal-`+s.appeal+`-mine"`)
	assert.NotContains(t, page, "/appeals/"+s.appeal+`"`)

	b := n.client()
	b.login(n, modB.ID)
	_, dashB := b.get("/dashboard")
	assert.Contains(t, dashB, `href="/dashboard/items/submission/`+s.hidden+`"`)
	_, page = b.get("/dashboard/items/submission/" + s.hidden)
	action := "/dashboard/items/submission/" + s.hidden + "/appeals/" + s.appeal
	form := hidden(t, page, action)
	status, _, body := b.post(action, form)
	assert.Equal(t, http.StatusUnprocessableEntity, status, "an appeal decision needs an outcome and reasons")
	assert.Contains(t, text(body), "Utfall")
	form.Set("outcome", "overturned")
	form.Set("explanation", "Kritik av ett beslut är inte ett personangrepp.")
	status, _, _ = b.post(action, form)
	require.Equal(t, http.StatusSeeOther, status)

	_, pub := n.client().get("/submissions/" + s.hidden)
	assert.Contains(t, text(pub), hiddenTitle, "overturned: the proposal is public again")
	_, trail := n.client().get("/items/" + s.hidden + "/trail")
	assert.Contains(t, text(trail), "Beslutet ändrat")

	// The decider could not have done it even by crafting the POST.
	c := n.client()
	c.login(n, modA.ID)
	status, _, _ = c.post(action, url.Values{"csrf": {hidden(t, page, action).Get("csrf")}})
	assert.Equal(t, http.StatusForbidden, status, "CSRF token of another session")
}

func TestAuditorSeesNamedTrail(t *testing.T) {
	n := newNode(t)
	c := n.client()
	c.login(n, auditor.ID)
	_, trail := c.get("/items/" + n.seed.hidden + "/trail")
	assert.Contains(t, text(trail), "Moderator "+modA.ID)
	assert.Contains(t, text(trail), "Du ser den interna kedjan med namngivna handläggare.")
}
