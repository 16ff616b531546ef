package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

var elected = domain.Actor{ID: "sara.berg", Role: domain.RoleElected}

// electedNode is the fixture with an elected member's token.
func electedNode(t *testing.T) *ledgerNode {
	n := newNode(t)
	res, err := n.svc.IssueToken(n.ctx, admin, rq("token-"+elected.ID, ledger.IssueToken{Name: elected.ID, Role: elected.Role}))
	require.NoError(t, err)
	n.tokens[elected.ID] = res.Token
	return n
}

// TestElectedFeedbackForm: an elected member records the body's feedback
// through the form; it is on the public results page in both languages,
// and the proposal it answers is decided there. Others may not use the form.
func TestElectedFeedbackForm(t *testing.T) {
	n := electedNode(t)
	s := n.seed
	pub := n.client()
	status, page := pub.get("/processes/" + s.cycling + "/results")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, "Vad blev det av förslagen?")
	assert.Contains(t, page, "Ingen återkoppling är registrerad ännu.")
	assert.NotContains(t, page, "feedback-link")

	off := n.client()
	off.login(n, official.ID)
	status, _ = off.get("/processes/" + s.cycling + "/feedback")
	assert.Equal(t, http.StatusForbidden, status, "an official does not speak for the elected body")

	el := n.client()
	el.login(n, elected.ID)
	_, page = el.get("/processes/" + s.cycling + "/results")
	assert.Contains(t, page, `id="feedback-link"`)
	status, page = el.get("/processes/" + s.cycling + "/feedback")
	require.Equal(t, http.StatusOK, status)
	f := hidden(t, page, "/processes/"+s.cycling+"/feedback")

	// Missing fields: every one named, nothing recorded.
	status, _, body := el.post("/processes/"+s.cycling+"/feedback", f)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	for _, field := range []string{"Vad beslutades", "Paragraf i protokollet", "Beslutsdatum", "Utfall"} {
		assert.Contains(t, body, field)
	}

	f.Set("summary", "Kommunfullmäktige beslutar att bygga cykelbanan längs Amiralsgatan.")
	f.Set("body", "Kommunfullmäktige")
	f.Set("paragraph", "§ 112")
	f.Set("decided_on", "2025-03-27")
	f.Set("outcome", domain.FeedbackPartly)
	f.Set("progress", "40")
	f["answers"] = []string{s.popular}
	status, loc, body := el.post("/processes/"+s.cycling+"/feedback", f)
	require.Equal(t, http.StatusSeeOther, status, body)
	assert.True(t, strings.HasPrefix(loc, "/processes/"+url.PathEscape(s.cycling)+"/results?done="), loc)

	_, page = pub.get("/processes/" + s.cycling + "/results")
	assert.Contains(t, page, "Kommunfullmäktige beslutar att bygga cykelbanan")
	assert.Contains(t, page, "Beslut: Kommunfullmäktige § 112, 2025-03-27")
	assert.Contains(t, page, "Delvis bifallet")
	assert.Contains(t, page, "40 % genomfört")
	assert.Contains(t, page, "Beslutat – Kommunfullmäktige § 112 2025-03-27")
	_, en := pub.get("/processes/" + s.cycling + "/results?lang=en")
	assert.Contains(t, en, "What became of the proposals?")
	assert.Contains(t, en, "Partly accepted")
	assert.Contains(t, en, "40 % carried out")
	for _, pg := range []string{page, en} {
		assert.NotContains(t, pg, "[results.", "untranslated key")
		assert.NotContains(t, pg, "partly_accepted", "raw identifier")
		assert.NotContains(t, pg, ">decided<", "raw identifier")
	}
}

// TestResultsInABrowser: an elected member records feedback in the browser
// and it appears on the public results page; both pages pass axe and fit a
// 390 px screen.
func TestResultsInABrowser(t *testing.T) {
	ctx, b := newBrowser(t)
	n := electedNode(t)
	b.base = n.url
	s := n.seed

	el := session(t, ctx)
	b.login(el, n.tokens[elected.ID])
	b.page(el, "/processes/"+s.cycling+"/feedback", "feedback-sv")
	c, cancel := within(el, 10*time.Second)
	for _, a := range []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(chromedp.CSS(`#fb-summary`), "Kommunfullmäktige beslutar att bygga cykelbanan längs Amiralsgatan."),
		chromedp.SetValue(chromedp.CSS(`#fb-paragraph`), "§ 112"),
		chromedp.SetValue(chromedp.CSS(`#fb-decided_on`), "2025-03-27"),
		chromedp.Click(chromedp.CSS(`#outcome-partly_accepted`)),
		chromedp.SetValue(chromedp.CSS(`#fb-progress`), "40"),
		chromedp.Click(chromedp.CSS(`#answer-0`)),
	} {
		require.NoError(t, chromedp.Do(c, a))
	}
	cancel()
	b.submit(el, "#feedback-submit")
	assert.Contains(t, b.text(el, "#feedback-list"), "Delvis bifallet")

	pub := session(t, ctx)
	b.page(pub, "/processes/"+s.cycling+"/results", "results-sv")
	assert.Contains(t, b.text(pub, "#feedback-list"), "§ 112, 2025-03-27")
	assert.Contains(t, b.text(pub, "#paths"), "Beslutat")
	b.page(pub, "/processes/"+s.cycling+"/results?lang=en", "results-en")
	assert.Contains(t, b.text(pub, "#feedback-list"), "Partly accepted")

	phone := session(t, ctx)
	require.NoError(t, chromedp.Do(phone, chromedp.EmulateViewport(390, 844)))
	b.page(phone, "/processes/"+s.cycling+"/results", "results-390")
	assert.LessOrEqual(t, eval[int](b, phone, `document.documentElement.scrollWidth`), 390)
}

// TestWorklistInABrowser: an official answers a proposal over the support
// threshold from the worklist, naming the body, the § and the date; the
// answer is on the public results page and the proposal leaves the list.
func TestWorklistInABrowser(t *testing.T) {
	ctx, b := newBrowser(t)
	n := electedNode(t)
	b.base = n.url
	s := n.seed

	off := session(t, ctx)
	b.login(off, n.tokens[official.ID])
	b.page(off, "/worklist", "worklist-sv")
	assert.Contains(t, b.text(off, "#work-0"), "Över stödgränsen")
	assert.Contains(t, b.text(off, "#work-0"), "dagar")
	c, cancel := within(off, 10*time.Second)
	for _, a := range []chromedp.Action[chromedp.Void]{
		chromedp.SetValue(chromedp.CSS(`#wk-answer-0`), "Tekniska nämnden bifaller förslaget; cykelbanan byggs 2026."),
		chromedp.SetValue(chromedp.CSS(`#wk-paragraph-0`), "§ 57"),
		chromedp.SetValue(chromedp.CSS(`#wk-date-0`), "2025-04-10"),
		chromedp.SetValue(chromedp.CSS(`#wk-outcome-0`), "approved"),
	} {
		require.NoError(t, chromedp.Do(c, a))
	}
	cancel()
	b.submit(off, "#answer-0")
	assert.NotContains(t, b.text(off, "main"), "Över stödgränsen", "the answered proposal left the worklist")

	pub := session(t, ctx)
	b.page(pub, "/processes/"+s.cycling+"/results", "results-answered-sv")
	assert.Contains(t, b.text(pub, "#paths"), "§ 57 2025-04-10")
	b.page(pub, "/submissions/"+s.popular, "submission-answered-sv")
	assert.Contains(t, b.text(pub, "main"), "Tekniska nämnden bifaller förslaget")

	phone := session(t, ctx)
	require.NoError(t, chromedp.Do(phone, chromedp.EmulateViewport(390, 844)))
	b.login(phone, n.tokens[official.ID])
	b.page(phone, "/worklist?lang=en", "worklist-390-en")
	assert.LessOrEqual(t, eval[int](b, phone, `document.documentElement.scrollWidth`), 390)
}
