package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/demo"
	"github.com/malmo/participation-ledger/ledger"
)

// The browser tests drive Debian's chromium (headless, loopback only) over a
// whole ledger with the pages mounted, check every page with axe-core, and
// write a PNG of each page to testdata/screenshots (see README).

const (
	chromiumPath = "/usr/bin/chromium"
	axePath      = "../tools/axe/node_modules/axe-core/axe.min.js"
	shotDir      = "testdata/screenshots"
)

type browser struct {
	t    *testing.T
	base string
	axe  string // axe.min.js, "" when not installed
}

func newBrowser(t *testing.T) (context.Context, *browser) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("SKIP browser tests: %s not found (apt-get install chromium; .ci/run installs it)", chromiumPath)
	}
	if testing.Short() {
		t.Skip("SKIP browser tests in -short mode")
	}
	// No internet: chromium must not try to reach Google's services.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("accept-lang", "sv-SE,sv"))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	require.NoError(t, chromedp.Do(ctx), "starting chromium")
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{t: t}
	if src, err := os.ReadFile(axePath); err == nil {
		b.axe = string(src)
	} else {
		t.Logf("axe-core not installed (%v): run `npm ci` in tools/axe; accessibility checks are skipped", err)
	}
	require.NoError(t, os.MkdirAll(shotDir, 0o755))
	return ctx, b
}

// session opens a new browser context: its own cookies, like a second
// person at another computer.
func session(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	s, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	require.NoError(t, chromedp.Do(s))
	return s
}

func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// open navigates and waits for the page's main landmark.
func (b *browser) open(ctx context.Context, path string) {
	b.t.Helper()
	c, cancel := within(ctx, 15*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(c, chromedp.Navigate(b.base+path), chromedp.WaitVisible(chromedp.ID("main"))), path)
}

// submit clicks a form's button and waits for the next page to load.
func (b *browser) submit(ctx context.Context, button string) {
	b.t.Helper()
	c, cancel := within(ctx, 15*time.Second)
	defer cancel()
	_, err := chromedp.Run(c, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(button))))
	require.NoError(b.t, err, "submitting with %s", button)
}

func (b *browser) text(ctx context.Context, sel string) string {
	b.t.Helper()
	c, cancel := within(ctx, 10*time.Second)
	defer cancel()
	s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
	require.NoError(b.t, err, sel)
	return strings.Join(strings.Fields(s), " ")
}

func eval[T any](b *browser, ctx context.Context, js string) T {
	b.t.Helper()
	c, cancel := within(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](js))
	require.NoError(b.t, err, js)
	return v
}

// shot writes a full-page PNG.
func (b *browser) shot(ctx context.Context, name string) {
	b.t.Helper()
	c, cancel := within(ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(c, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(shotDir, name+".png"), png, 0o644))
}

type violation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// accessible runs axe-core (WCAG 2.0/2.1 A and AA rules) on the current
// page and fails on any serious or critical violation.
func (b *browser) accessible(ctx context.Context, name string) {
	b.t.Helper()
	if b.axe == "" {
		return
	}
	c, cancel := within(ctx, 20*time.Second)
	defer cancel()
	_, err := chromedp.Run(c, chromedp.Evaluate[chromedp.Void](b.axe))
	require.NoError(b.t, err)
	vs, err := chromedp.Run(c, chromedp.Evaluate[[]violation](`axe.run(document, {
		runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
		resultTypes: ['violations']
	}).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))})))`,
		chromedp.EvalAwaitPromise))
	require.NoError(b.t, err)
	for _, v := range vs {
		b.t.Errorf("%s: axe %s violation %s (%s) at %v", name, v.Impact, v.ID, v.Help, v.Nodes)
	}
}

// page opens path, checks it with axe and saves its screenshot.
func (b *browser) page(ctx context.Context, path, name string) {
	b.t.Helper()
	b.open(ctx, path)
	b.accessible(ctx, name)
	b.shot(ctx, name)
}

func (b *browser) login(ctx context.Context, token string) {
	b.t.Helper()
	b.open(ctx, "/login")
	c, cancel := within(ctx, 10*time.Second)
	defer cancel()
	require.NoError(b.t, chromedp.Do(c, chromedp.SetValue(chromedp.ID("token"), token)))
	b.submit(ctx, `form[action="/login"] button`)
}

func TestBrowser(t *testing.T) {
	start := time.Now()
	ctx, b := newBrowser(t)
	n := newNode(t)
	b.base = n.url
	s := n.seed
	before := strconv.FormatUint(uint64(s.headBeforeHide), 10)

	pub := session(t, ctx)
	if b.axe != "" {
		// The check itself must be able to fail: an image without a text
		// alternative is a critical violation.
		b.open(pub, "/")
		require.NoError(t, chromedp.Do(pub, chromedp.Evaluate[chromedp.Void](
			`document.getElementById('main').insertAdjacentHTML('beforeend', '<img src="/static/favicon.svg">')`)))
		c, cancel := within(pub, 20*time.Second)
		_, err := chromedp.Run(c, chromedp.Evaluate[chromedp.Void](b.axe))
		require.NoError(t, err)
		n, err := chromedp.Run(c, chromedp.Evaluate[int](`axe.run(document).then(r => r.violations.filter(v => v.id === 'image-alt').length)`,
			chromedp.EvalAwaitPromise))
		cancel()
		require.NoError(t, err)
		require.Equal(t, 1, n, "axe finds an image without alt text")
	}
	t.Run("public pages", func(t *testing.T) {
		b.t = t
		b.page(pub, "/", "home-sv")
		assert.Equal(t, "Medborgardialoger och förslag", b.text(pub, "h1"))
		assert.Contains(t, b.text(pub, ".cards"), "TN-2024-1234")
		b.page(pub, "/processes/"+s.cycling, "process")
		assert.Equal(t, "2", b.text(pub, "#count-submissions"))
		assert.Equal(t, "3", b.text(pub, "#count-supports"))
		b.page(pub, "/submissions/"+s.popular, "submission")
		assert.Contains(t, b.text(pub, "main"), "3 av 3 stöd som behövs")
		b.page(pub, "/submissions/"+s.hidden, "submission-hidden")
		assert.Contains(t, b.text(pub, ".reasons"), hideReason)
		b.page(pub, "/submissions/"+s.answered, "submission-answered")
		assert.Equal(t, decisionRef, b.text(pub, "#decision-reference"))
		b.page(pub, "/items/"+s.hidden+"/trail", "trail")
		b.page(pub, "/transparency", "transparency")
		assert.Equal(t, "1", b.text(pub, "#fig-decisions"))
		assert.Equal(t, "2", b.text(pub, "#fig-notices"))
		b.page(pub, "/verify", "verify")
		b.page(pub, "/audit?as_of="+before, "audit")
		assert.Equal(t, before, b.text(pub, "#audit-position"))
		b.page(pub, "/submissions/"+s.hidden+"?as_of="+before, "submission-as-of")
		assert.Contains(t, b.text(pub, "h1"), hiddenTitle, "before the decision it was public")
		b.page(pub, "/login", "login")
	})

	t.Run("language switch", func(t *testing.T) {
		b.t = t
		b.open(pub, "/")
		b.submit(pub, "#lang-switch")
		assert.Equal(t, "en", eval[string](b, pub, `document.documentElement.lang`))
		assert.Equal(t, "Citizen dialogues and proposals", b.text(pub, "h1"))
		assert.Contains(t, b.text(pub, ".cards"), "Safer cycle routes in Rosengård")
		b.accessible(pub, "home-en")
		b.shot(pub, "home-en")
		b.open(pub, "/transparency")
		assert.Equal(t, "Transparency report", b.text(pub, "h1"), "the choice is remembered")
		b.submit(pub, "#lang-switch")
		assert.Equal(t, "sv", eval[string](b, pub, `document.documentElement.lang`))
	})

	official := session(t, ctx)
	moderator := session(t, ctx)
	t.Run("dashboard and moderation", func(t *testing.T) {
		b.t = t
		b.login(official, n.tokens["anna.lindqvist"])
		b.page(official, "/dashboard", "dashboard")
		c, cancel := within(official, 10*time.Second)
		_, err := chromedp.Run(c, chromedp.Poll[bool](`document.getElementById('live-status').textContent === 'Uppdateras direkt.'`))
		cancel()
		require.NoError(t, err, "the dashboard connects to the live feed")
		decisions := b.text(official, "#decisions-total")
		assert.Equal(t, "1", decisions)
		queue := b.text(official, "#queue-length")
		eval[bool](b, official, `window.__sameDocument = true`)

		b.login(moderator, n.tokens["omar.haddad"])
		b.page(moderator, "/dashboard/items/submission/"+s.pending, "moderation-form")
		assert.Contains(t, b.text(moderator, "#content-h"), "Version 1")

		// The browser itself refuses an empty explanation …
		require.NoError(t, chromedp.Do(moderator, chromedp.SetValue(chromedp.ID("visibility"), "content_disabled")))
		assert.False(t, eval[bool](b, moderator, `document.getElementById('decision-form').checkValidity()`))
		// … and without the browser's help the server refuses a
		// restriction without ground, clause, category and explanation.
		eval[bool](b, moderator, `document.getElementById('decision-form').noValidate = true`)
		b.submit(moderator, "#decide")
		errs := b.text(moderator, "#error-summary")
		for _, want := range []string{"Det saknas", "Grund", "Punkt i riktlinjerna eller lagrum", "Kategori", "Motivering"} {
			assert.Contains(t, errs, want)
		}
		b.accessible(moderator, "moderation-form-error")
		b.shot(moderator, "moderation-form-error")
		assert.Equal(t, decisions, b.text(official, "#decisions-total"), "nothing was recorded")

		// Now a proper decision; the official's dashboard shows it without a
		// reload, within a second.
		require.NoError(t, chromedp.Do(moderator,
			chromedp.SetValue(chromedp.ID("visibility"), "approved"),
			chromedp.SetValue(chromedp.ID("explanation"), "Följer riktlinjerna för dialog.")))
		want, _ := strconv.Atoi(decisions)
		clicked := time.Now()
		require.NoError(t, chromedp.Do(moderator, chromedp.Click(chromedp.ID("decide"))))
		c, cancel = within(official, 5*time.Second)
		_, err = chromedp.Run(c, chromedp.Poll[bool](fmt.Sprintf(
			`document.getElementById('decisions-total').dataset.value === '%d'`, want+1)))
		cancel()
		seen := time.Since(clicked)
		require.NoError(t, err, "the decision reaches the dashboard")
		t.Logf("decision visible on the second session's dashboard %v after the click", seen.Round(time.Millisecond))
		assert.Less(t, seen, time.Second)
		assert.True(t, eval[bool](b, official, `window.__sameDocument === true`), "no reload")
		assert.NotEqual(t, queue, b.text(official, "#queue-length"), "the queue shrank")
		assert.Contains(t, b.text(official, "#recent"), "Modereringsbeslut")
		b.accessible(official, "dashboard-live")
		b.shot(official, "dashboard-after-decision")

		c, cancel = within(moderator, 10*time.Second)
		_, err = chromedp.Run(c, chromedp.Poll[bool](`location.search.includes('done=')`))
		cancel()
		require.NoError(t, err)
		assert.Contains(t, b.text(moderator, ".flash"), "Beslutet är registrerat")

		b.page(pub, "/items/"+s.pending+"/trail", "trail-after-decision")
		trail := b.text(pub, "#trail")
		assert.Contains(t, trail, "Godkänt (publiceras)")
		assert.Contains(t, trail, "Följer riktlinjerna för dialog.")
	})

	t.Run("appeal not offered to the decider", func(t *testing.T) {
		b.t = t
		decider := session(t, ctx)
		b.login(decider, n.tokens["karin.sjoberg"])
		b.page(decider, "/dashboard/items/submission/"+s.hidden, "appeal-own-decision")
		assert.Contains(t, b.text(decider, "#appeal-"+s.appeal+"-mine"), "En annan moderator avgör")
	})
	t.Run("demo data", func(t *testing.T) {
		b.t = t
		var sum demo.Summary
		d := newNodeWith(t, func(ctx context.Context, svc *ledger.Service) {
			var err error
			sum, err = demo.Seed(ctx, svc, demo.Config{Seed: 1, Size: demo.Small})
			require.NoError(t, err)
		})
		b.base = d.url
		defer func() { b.base = n.url }()
		visitor := session(t, ctx)
		b.page(visitor, "/", "demo-home")
		cards := b.text(visitor, ".cards")
		for _, p := range sum.Processes {
			assert.Contains(t, cards, p.CaseNumber)
		}
		b.page(visitor, "/transparency", "demo-transparency")
		assert.Equal(t, strconv.Itoa(sum.Decisions), b.text(visitor, "#fig-decisions"))
		assert.Equal(t, strconv.Itoa(sum.Flags), b.text(visitor, "#fig-notices"))
		assert.Equal(t, strconv.Itoa(sum.Appeals), b.text(visitor, "#fig-appeals"))
		b.page(visitor, "/processes/"+sum.Processes[0].ID, "demo-process")
		b.page(visitor, "/submissions/"+sum.Answered, "demo-submission-answered")
		assert.NotEmpty(t, b.text(visitor, "#decision-reference"))
		b.page(visitor, "/items/"+sum.Overturned+"/trail", "demo-trail-overturned")
		assert.Contains(t, b.text(visitor, "#trail"), "Beslutet ändrat")
		b.page(visitor, "/submissions/"+sum.Disposed, "demo-submission-disposed")
		assert.Contains(t, b.text(visitor, "main"), "Innehållet är gallrat")
		staff := session(t, ctx)
		b.login(staff, d.tokens["anna.lindqvist"]) // the demo official's name
		b.page(staff, "/dashboard", "demo-dashboard")
		assert.NotEqual(t, "0", b.text(staff, "#decisions-total"))
	})
	b.t = t
	t.Logf("browser tests took %v", time.Since(start).Round(time.Millisecond))
}
