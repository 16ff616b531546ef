// Package web serves the ledger's HTML pages: public process, submission, trail, transparency and verify pages, the officials' live dashboard with the moderation forms, and the auditor's as-of view, in Swedish and English.
package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Runner is what the pages need of the projections runner: views of the
// read models (live or as of a position) and read-your-writes.
type Runner interface {
	Resolve(ctx context.Context, at projections.At) (projections.At, error)
	Read(ctx context.Context, at projections.At, fn func(v *projections.View) error) (eventstore.Position, error)
	Position() eventstore.Position
	Wait(ctx context.Context, pos eventstore.Position) error
}

// Checkpoints is what the verify and as-of pages need of the integrity log.
type Checkpoints interface {
	Checkpoint() integrity.SignedCheckpoint
	Verifier() string
	Root(size int64) (tlog.Hash, error)
}

// Config is what New needs; every field but Logger is required.
type Config struct {
	Service   *ledger.Service
	Store     eventstore.Store
	Runner    Runner
	Integrity Checkpoints
	// Live is the live feed of read-model changes (Server-Sent Events) the
	// dashboard follows; the pages serve it to logged-in staff.
	Live   http.Handler
	Logger *slog.Logger
	// SecureCookies marks the session cookie Secure; set it when the
	// ledger is served over HTTPS (behind a proxy), as it should be.
	SecureCookies bool
	// Sessions holds the signed-in browsers (default: a store of its own
	// with the default lifetimes).
	Sessions *auth.Sessions
	// SignIn offers sign-in through OpenID providers (nil: only the staff
	// token login); Link finds a resident's participant and is required
	// when a residents' provider is configured.
	SignIn *auth.RelyingParty
	Link   *auth.Link
	// Failures limits failed sign-ins per address (default: its own).
	Failures *auth.Failures
	// Receipt returns the integrity receipt of an event (the resident's
	// own page offers one for each of their writes); nil leaves them out.
	Receipt func(ctx context.Context, ev ledger.Appended) (any, error)
}

// Handler serves the pages. Mount adds its routes to a chi router.
type Handler struct {
	cfg      Config
	svc      *ledger.Service
	log      *slog.Logger
	pages    map[string]map[string]*template.Template // lang → page → template
	cats     map[string]catalogue
	static   http.Handler
	loc      *time.Location
	sessions *auth.Sessions
	failures *auth.Failures
}

// New parses the templates and catalogues.
func New(cfg Config) (*Handler, error) {
	if cfg.Service == nil || cfg.Store == nil || cfg.Runner == nil || cfg.Integrity == nil || cfg.Live == nil {
		return nil, errors.New("web: Service, Store, Runner, Integrity and Live are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, svc: cfg.Service, log: cfg.Logger, sessions: cfg.Sessions, failures: cfg.Failures}
	if h.sessions == nil {
		h.sessions = auth.NewSessions(auth.SessionConfig{Secure: cfg.SecureCookies})
	}
	if h.failures == nil {
		h.failures = auth.NewFailures(10, 0, nil)
	}
	// Dates are shown in Malmö's time; without the zone database the pages
	// fall back to UTC and say so in the format.
	if loc, err := time.LoadLocation("Europe/Stockholm"); err == nil {
		h.loc = loc
	} else {
		h.loc = time.UTC
	}
	var err error
	if h.cats, err = loadCatalogues(); err != nil {
		return nil, err
	}
	if h.pages, err = h.parseTemplates(); err != nil {
		return nil, err
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	h.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	return h, nil
}

// Mount adds the pages to r (the API router: its routes live under /v1).
func (h *Handler) Mount(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(h.headers)
		r.Get("/", h.home)
		r.Get("/processes/{id}", h.process)
		r.Get("/processes/{id}/dialogue", h.dialogue)
		r.Get("/processes/{id}/results", h.results)
		r.Get("/processes/{id}/feedback", h.feedbackForm)
		r.Post("/processes/{id}/feedback", h.recordFeedback)
		r.Get("/worklist", h.worklist)
		r.Post("/worklist/{id}/answer", h.answer)
		r.Post("/worklist/{id}/forward", h.forwardForm)
		r.Get("/processes/{id}/propose", h.proposeForm)
		r.Post("/processes/{id}/propose", h.propose)
		r.Get("/processes/{id}/sent/{sub}", h.sent)
		r.Post("/submissions/{id}/support", h.support)
		r.Post("/submissions/{id}/comments", h.comment)
		r.Get("/submissions/{id}", h.submission)
		r.Get("/items/{id}/trail", h.trail)
		r.Get("/transparency", h.transparency)
		r.Get("/verify", h.verify)
		r.Get("/audit", h.audit)
		r.Get("/login", h.loginForm)
		r.Post("/login", h.login)
		r.Post("/logout", h.signout)
		r.Get("/signin", h.signinPage)
		r.Get("/signin/{provider}", h.signinStart)
		r.Get("/signin/{provider}/callback", h.signinCallback)
		r.Get("/signup", h.signupForm)
		r.Post("/signup", h.signup)
		r.Post("/signout", h.signout)
		r.Get("/my", h.my)
		r.Get("/my/data.json", h.myDownload)
		r.Get("/my/inbox", h.inbox)
		r.Get("/my/receipts/{position}", h.myReceipt)
		r.Post("/my/consent", h.myConsent)
		r.Post("/my/erasure", h.myErasure)
		r.Post("/my/appeals", h.myAppeal)
		r.Get("/dashboard", h.dashboard)
		r.Get("/dashboard/panel", h.panel)
		r.Get("/dashboard/live", h.live)
		r.Get("/dashboard/items/{kind}/{id}", h.itemForm)
		r.Post("/dashboard/items/{kind}/{id}/decision", h.decide)
		r.Post("/dashboard/items/{kind}/{id}/appeals/{appeal}", h.decideAppeal)
	})
	r.Get("/static/*", h.serveStatic)
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	// Assets change only with the binary; an hour of caching is enough to
	// spare repeat requests without a build step for fingerprinted names.
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	h.static.ServeHTTP(w, r)
}

// headers sets the security headers every page carries. Nothing is loaded
// from elsewhere (no CDN) and nothing inline runs, so the policy is tight.
func (h *Handler) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		// Signing out redirects the form to the provider's end-session
		// endpoint, so form-action names those origins too.
		formAction := strings.Join(append([]string{"'self'"}, h.cfg.SignIn.Origins()...), " ")
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
			"connect-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// page is what every template gets: the language, the visitor, the
// position shown, and the page's own data.
type page struct {
	Lang       string
	OtherLang  string
	SwitchURL  string
	Title      string
	Path       string
	User       *ledger.Principal
	Who        string // the signed-in person as shown: pseudonym or staff name
	Resident   bool
	CSRF       string
	At         view
	Data       any
	Flash      string
	Error      string
	ErrorItems []errItem
	Staff      bool
	Moderator  bool
}

// errItem is one entry of a form's error summary: a field to jump to (or
// none) and what is wrong.
type errItem struct {
	Field string
	Text  string
}

// Link joins path parts and keeps the as-of position, so that browsing
// from an as-of page stays at that position.
func (p *page) Link(parts ...string) string {
	var b strings.Builder
	for _, s := range parts {
		b.WriteString(s)
	}
	if !p.At.Latest {
		b.WriteString("?as_of=")
		b.WriteString(strconv.FormatUint(uint64(p.At.Pos), 10))
	}
	return b.String()
}

// Esc escapes one path segment (ids come from the log, not from us).
func (p *page) Esc(s string) string { return url.PathEscape(s) }

func (h *Handler) newPage(w http.ResponseWriter, r *http.Request, title string) *page {
	lang := h.language(w, r)
	p := &page{Lang: lang, OtherLang: other(lang), Title: title, Path: r.URL.Path}
	q := r.URL.Query()
	q.Set("lang", p.OtherLang)
	p.SwitchURL = r.URL.Path + "?" + q.Encode()
	if sess, ok := h.visitor(r); ok && sess.Pending == nil {
		pr := sess.Principal
		p.User, p.Who, p.CSRF = &pr, pr.Name, sess.CSRF
		if sess.Resident() {
			p.Resident, p.Who = true, sess.Pseudonym
		}
		p.Staff = slices.Contains(staffRoles, pr.Role)
		p.Moderator = pr.Role == domain.RoleModerator
	}
	return p
}

// render executes a page template into a buffer first, so that a template
// error becomes a clean 500 instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	if p.At.Latest && p.At.Pos == 0 {
		p.At.Pos = h.cfg.Runner.Position()
	}
	t := h.pages[p.Lang][name]
	if t == nil {
		h.fail(w, r, fmt.Errorf("web: no template %q", name))
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", p); err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Lang)
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail answers 500 without the error's text (it may name internals) and
// logs it.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.log.ErrorContext(r.Context(), "web page failed", "path", r.URL.Path, "err", err)
	lang := h.language(w, r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, "<!doctype html><html lang=%q><title>%s</title><main><h1>%s</h1></main></html>",
		lang, template.HTMLEscapeString(h.cats[lang].t("error.internal")), template.HTMLEscapeString(h.cats[lang].t("error.internal")))
}

// notFound renders the 404 page.
func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, h.cats[h.language(w, r)].t("error.notfound"))
	p.At = view{Latest: true}
	h.render(w, r, http.StatusNotFound, "notfound", p)
}

// Sessions are server-side (package auth): the cookie holds a random id,
// never a bearer token. Forms carry the session's CSRF token.

// loginCSRF is the double-submit cookie of the token login form, shown
// before there is a session to bind a CSRF token to.
const loginCSRF = "ledger_login"

// staffRoles may use the dashboard.
var staffRoles = []domain.Role{domain.RoleOfficial, domain.RoleModerator, domain.RoleAdmin, domain.RoleAuditor}

// session returns a signed-in staff member and their session's CSRF token.
func (h *Handler) session(r *http.Request) (ledger.Principal, string, bool) {
	sess, ok := h.visitor(r)
	if !ok || sess.Pending != nil || !slices.Contains(staffRoles, sess.Principal.Role) {
		return ledger.Principal{}, "", false
	}
	return sess.Principal, sess.CSRF, true
}

// csrf is the form token of a session's CSRF token (itself: it is random
// per session and kept server-side).
func (h *Handler) csrf(token string) string { return token }

// checkCSRF compares the form's token with the session's.
func (h *Handler) checkCSRF(r *http.Request, token string) bool {
	return token != "" && hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(token))
}

func (h *Handler) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: h.cfg.SecureCookies, MaxAge: maxAge})
}

// timeFmt formats t in Malmö's time.
func (h *Handler) timeFmt(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(h.loc).Format("2006-01-02 15:04")
}
