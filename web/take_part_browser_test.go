package web_test

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// A resident takes part in the browser: proposes in a pre-moderated
// process and sees it await moderation; a moderator in a second browser
// hides it with reasons; the resident's own page shows the decision with
// the statement of reasons; the resident supports another resident's
// proposal until it crosses the threshold, withdraws nothing twice, and
// comments with a reply. Every action's event is in the log with the
// resident as actor.
func TestResidentTakesPartBrowser(t *testing.T) {
	ctx, b := newBrowser(t)
	n := newSigninNode(t)
	b.base = n.url
	b.t = t
	must := func(res ledger.Result, err error) ledger.Result {
		t.Helper()
		require.NoError(t, err)
		return res
	}
	intake := domain.Actor{ID: "ida.intake", Role: domain.RoleIntake}
	all := []domain.ContributionKind{domain.AcceptsSubmissions, domain.AcceptsComments, domain.AcceptsSupport}
	open := func(key string, mode domain.ModerationMode, threshold int) string {
		return must(n.svc.OpenProcess(n.ctx, official, rq(key, domain.OpenProcess{
			Title: domain.Text{Sv: "Trygga skolvägar " + key, En: "Safe routes to school " + key}, Kind: domain.KindProposal,
			OwnerBody: "Tekniska nämnden", CaseNumber: "TN-2025-0042",
			Phases:         []domain.Phase{{Name: "förslag", StartsAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Accepts: all}},
			ModerationMode: mode, PolicyReference: "Malmö stads riktlinjer för dialog 2023", SupportThreshold: threshold,
		}))).ID
	}
	pre := open("pre", domain.ModerationPre, 0)
	post := open("post", domain.ModerationPost, 2)
	// Another resident's proposal with one supporter already.
	other := domain.Actor{ID: must(n.svc.RegisterParticipant(n.ctx, intake,
		rq("p-other", domain.RegisterParticipant{Pseudonym: "Grannen", Language: "sv"}))).ID, Role: domain.RoleParticipant}
	third := domain.Actor{ID: must(n.svc.RegisterParticipant(n.ctx, intake,
		rq("p-third", domain.RegisterParticipant{Pseudonym: "Tredje", Language: "sv"}))).ID, Role: domain.RoleParticipant}
	theirs := must(n.svc.ReceiveSubmission(n.ctx, other, post, rq("their-s", domain.ReceiveSubmission{Language: "sv",
		Title: "Cykelbana längs Lönngatan", Body: "En separerad cykelbana gör skolvägen tryggare."}))).ID
	must(n.svc.GiveSupport(n.ctx, third, theirs, rq("third-support", domain.GiveSupport{})))
	n.caughtUp()

	// The resident signs up.
	res := session(t, ctx)
	b.atProvider(res, "eid")
	b.pick(res, "19900101-1234")
	require.Equal(t, "/signup", b.location(res).Path)
	require.NoError(t, chromedp.Do(res, chromedp.SetValue(chromedp.ID("pseudonym"), "Cykelvännen")))
	b.submit(res, "#signup")
	require.Equal(t, "/my", b.location(res).Path)
	me := b.text(res, "#my-participant")

	var proposal string
	t.Run("a resident proposes in a pre-moderated process and sees it await moderation", func(t *testing.T) {
		b.t = t
		b.page(res, "/processes/"+pre, "take-part-process-sv")
		b.submit(res, "#propose-link")
		assert.Contains(t, b.text(res, "#terms"), "väntar först på granskning")
		assert.Contains(t, b.text(res, "#limits"), "högst 200 tecken")
		b.accessible(res, "propose-sv")
		b.shot(res, "propose-sv")
		// Nothing sent without a title: the server says so.
		eval[bool](b, res, `document.getElementById('propose-form').noValidate = true`)
		b.submit(res, "#send")
		assert.Contains(t, b.text(res, "#error-summary"), "Skriv en rubrik")
		b.accessible(res, "propose-error-sv")
		require.NoError(t, chromedp.Do(res,
			chromedp.SetValue(chromedp.ID("title"), "Farthinder vid Möllevångsskolan"),
			chromedp.SetValue(chromedp.ID("body"), "Bilarna kör för fort förbi skolan på morgonen.")))
		// Keep the form as sent, to send it a second time (a double submit).
		form := eval[string](b, res, `new URLSearchParams(new FormData(document.getElementById('propose-form'))).toString()`)
		before := n.head()
		b.submit(res, "#send")
		assert.Contains(t, b.text(res, "#sent-status"), "Väntar på granskning")
		proposal = b.text(res, "#sent-id")
		assert.NotEmpty(t, b.text(res, "#sent-receipt"))
		b.accessible(res, "sent-pending-sv")
		b.shot(res, "sent-pending-sv")
		assert.Equal(t, before+1, n.head(), "one event")

		// The same form sent again records nothing more and leads to the same proposal.
		again := await[string](b, res, `fetch('/processes/`+pre+`/propose', {method: 'POST',
			headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: '`+form+`'}).then(r => r.url)`)
		assert.Contains(t, again, "/sent/"+proposal)
		assert.Equal(t, before+1, n.head(), "the idempotency key made the repeat a replay")
	})

	t.Run("a moderator hides it with reasons; the resident's own page shows them", func(t *testing.T) {
		b.t = t
		require.NotEmpty(t, proposal)
		mod := session(t, ctx)
		b.atProvider(mod, "directory")
		b.pick(mod, "staff-karin")
		b.open(mod, "/dashboard/items/submission/"+proposal)
		require.NoError(t, chromedp.Do(mod,
			chromedp.SetValue(chromedp.ID("visibility"), "content_disabled"),
			chromedp.SetValue(chromedp.ID("ground"), "incompatible_content"),
			chromedp.SetValue(chromedp.ID("clause"), "Riktlinjerna 3.1 (trafikfrågor hör till en annan process)"),
			chromedp.SetValue(chromedp.ID("category"), "other_violation_tc"),
			chromedp.SetValue(chromedp.ID("ground_explanation"), "Processen gäller skolgårdar, inte trafik."),
			chromedp.SetValue(chromedp.ID("explanation"), "Förslaget hör till trafikprocessen och är dolt här.")))
		b.submit(mod, "#decide")
		b.shot(mod, "take-part-moderator-decided")

		b.open(res, "/my")
		item := b.text(res, "#item-"+proposal)
		assert.Contains(t, item, "Farthinder vid Möllevångsskolan")
		assert.Contains(t, item, "Förslaget hör till trafikprocessen och är dolt här.")
		assert.Contains(t, item, "Riktlinjerna 3.1")
		b.shot(res, "take-part-my-decision-sv")

		// The inbox, linked from the own page, has the decision with its
		// statement of reasons; the log has the author notice.
		b.submit(res, "#inbox-link")
		assert.Equal(t, "/my/inbox", b.location(res).Path)
		inbox := b.text(res, "main")
		assert.Contains(t, inbox, "Modereringsbeslut")
		assert.Contains(t, inbox, "Förslaget hör till trafikprocessen och är dolt här.")
		assert.Contains(t, inbox, "Processen gäller skolgårdar, inte trafik.")
		b.accessible(res, "inbox-sv")
		b.shot(res, "inbox-sv")
		evs, err := n.store.ReadAll(n.ctx, 0, 10_000)
		require.NoError(t, err)
		var notices int
		for _, e := range evs {
			if e.Type == "AuthorNotified" {
				notices++
				assert.Equal(t, "karin.sjoberg", e.Metadata.Actor)
				assert.Contains(t, string(e.Data), `"author":"`+me+`"`)
				assert.Contains(t, string(e.Data), `"method":"in_app"`)
			}
		}
		assert.Equal(t, 1, notices, "one author notice for the one decision")
	})

	t.Run("the resident supports another's proposal across the threshold, comments and replies", func(t *testing.T) {
		b.t = t
		b.page(res, "/submissions/"+theirs, "take-part-submission-sv")
		assert.Contains(t, b.text(res, "main"), "1 av 2 stöd som behövs")
		b.submit(res, "#support-button")
		assert.Contains(t, b.text(res, ".flash"), "Ditt stöd är registrerat")
		assert.Contains(t, b.text(res, "main"), "Stödgränsen nådd")
		assert.Contains(t, b.text(res, "#support-form"), "Du stöder förslaget")

		require.NoError(t, chromedp.Do(res, chromedp.SetValue(chromedp.ID("body-"), "Bra förslag, min dotter cyklar där.")))
		b.submit(res, "#comment-send")
		assert.Contains(t, b.text(res, ".flash"), "Din kommentar är publicerad")
		b.submit(res, ".reply-link")
		parent := eval[string](b, res, `document.querySelector('form[id^=reply-] input[name=parent]').value`)
		require.NoError(t, chromedp.Do(res, chromedp.SetValue(chromedp.ID("body-"+parent), "Och jag håller med mig själv.")))
		b.submit(res, "#reply-send-"+parent)
		assert.Equal(t, 1, eval[int](b, res, `document.querySelectorAll('article.comment.depth-1').length`), "the reply is threaded under its parent")
		b.accessible(res, "take-part-thread-sv")
		b.shot(res, "take-part-thread-sv")
	})

	t.Run("no page is wider than a 390 px screen", func(t *testing.T) {
		b.t = t
		require.NoError(t, chromedp.Do(res, chromedp.EmulateViewport(390, 844)))
		defer chromedp.Do(res, chromedp.EmulateViewport(1280, 900))
		for _, path := range []string{"/", "/processes/" + pre, "/processes/" + post, "/processes/" + pre + "/propose",
			"/processes/" + pre + "/sent/" + proposal, "/submissions/" + theirs, "/submissions/" + theirs + "?reply=x",
			"/items/" + theirs + "/trail", "/my", "/my/inbox", "/transparency", "/verify", "/audit", "/signin"} {
			b.open(res, path)
			wide := eval[int](b, res, `document.documentElement.scrollWidth`)
			assert.LessOrEqual(t, wide, 390, "%s scrolls sideways at 390 px (%d px wide)", path, wide)
			b.accessible(res, "390 "+path)
		}
		b.open(res, "/submissions/"+theirs)
		b.shot(res, "take-part-submission-390")
	})

	t.Run("every action's event is in the log with the resident as actor", func(t *testing.T) {
		evs, err := n.store.ReadAll(n.ctx, 0, 10_000)
		require.NoError(t, err)
		got := map[string]int{}
		for _, e := range evs {
			if e.Metadata.Actor == me {
				got[e.Type]++
			}
		}
		for _, typ := range []string{"SubmissionReceived", "SupportGiven", "SupportThresholdReached"} {
			assert.Equal(t, 1, got[typ], typ)
		}
		assert.Equal(t, 2, got["CommentPosted"])
	})
}
