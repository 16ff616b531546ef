package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// Sessions for page handlers. Every page reads who is signed in with
//
//	sess, ok := h.visitor(r)
//
// which gives an auth.Session: sess.Principal.Role (participant or a staff
// role), sess.Principal.Participant and sess.Pseudonym for residents,
// sess.Actor() to pass to the command service, and sess.CSRF to put in
// every form as the hidden field "csrf" (page.CSRF already holds it).
// A handler of a POST checks it with auth.CheckCSRF(r, sess) before doing
// anything. Residents who have not finished signing up (sess.Pending) have
// no role and get sent to /signup by h.resident.

// visitor returns the request's session: staff, resident, or a resident
// still signing up.
func (h *Handler) visitor(r *http.Request) (auth.Session, bool) {
	return h.sessions.Get(r)
}

// resident returns the signed-in participant, or sends the browser to sign
// in (or to finish signing up) and reports false.
func (h *Handler) resident(w http.ResponseWriter, r *http.Request) (auth.Session, bool) {
	sess, ok := h.visitor(r)
	switch {
	case ok && sess.Pending != nil:
		http.Redirect(w, r, "/signup", http.StatusSeeOther)
		return sess, false
	case !ok || !sess.Resident():
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return sess, false
	}
	return sess, true
}

// clientAddr keys the failure limit: the client's address as the API
// router resolved it (trusted proxies honoured).
func clientAddr(r *http.Request) string { return auth.ClientAddr(r) }

type providerLink struct {
	Name  string
	Label string
}

type signinData struct {
	Residents []providerLink
	Staff     []providerLink
}

func (h *Handler) signinPage(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, h.cats[h.language(w, r)].t("signin.title"))
	var d signinData
	for _, c := range h.cfg.SignIn.Providers() {
		l := providerLink{Name: c.Name, Label: c.Label}
		if l.Label == "" {
			l.Label = c.Name
		}
		if c.Kind == auth.Residents {
			d.Residents = append(d.Residents, l)
		} else {
			d.Staff = append(d.Staff, l)
		}
	}
	p.Data = d
	p.At = view{Latest: true}
	h.render(w, r, http.StatusOK, "signin", p)
}

// signinStart sends the browser to the provider.
func (h *Handler) signinStart(w http.ResponseWriter, r *http.Request) {
	if h.cfg.SignIn == nil {
		h.notFound(w, r)
		return
	}
	u, err := h.cfg.SignIn.Begin(w, r, chi.URLParam(r, "provider"), h.sessions.Secure(r))
	if err != nil {
		h.signinFailed(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u, http.StatusSeeOther)
}

// signinCallback finishes the sign-in: staff get a short session with the
// role from their claim; a known resident gets their participant; a new
// one chooses a pseudonym and consents first (/signup). Nothing is
// appended to the log before the resident submits that form.
func (h *Handler) signinCallback(w http.ResponseWriter, r *http.Request) {
	if h.cfg.SignIn == nil {
		h.notFound(w, r)
		return
	}
	addr := clientAddr(r)
	if _, blocked := h.failures.Blocked(addr); blocked {
		h.signinFailed(w, r, errTooMany)
		return
	}
	id, err := h.cfg.SignIn.Finish(w, r, chi.URLParam(r, "provider"))
	if err != nil {
		h.failures.Fail(addr)
		h.log.InfoContext(r.Context(), "sign-in refused", "provider", chi.URLParam(r, "provider"), "err", err)
		h.signinFailed(w, r, err)
		return
	}
	if id.Kind == auth.Staff {
		h.sessions.Start(w, r, auth.Session{Principal: ledger.Principal{Name: id.Username, Role: id.Role}, Provider: id.Provider}, id.IDToken)
		http.Redirect(w, r, staffHome(id.Role), http.StatusSeeOther)
		return
	}
	if h.cfg.Link == nil {
		h.fail(w, r, errors.New("web: a residents' provider is configured without a Link"))
		return
	}
	pid, st, err := h.cfg.Link.Find(r.Context(), id.Issuer, id.Subject)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !st.Exists {
		h.sessions.Start(w, r, auth.Session{Provider: id.Provider,
			Pending: &auth.Pending{Participant: pid, Name: id.Name, Email: id.Email}}, id.IDToken)
		http.Redirect(w, r, "/signup", http.StatusSeeOther)
		return
	}
	h.sessions.Start(w, r, auth.Session{Principal: ledger.Principal{Name: pid, Role: domain.RoleParticipant, Participant: pid},
		Pseudonym: st.Pseudonym, Provider: id.Provider}, id.IDToken)
	http.Redirect(w, r, "/my", http.StatusSeeOther)
}

func staffHome(role domain.Role) string {
	switch role {
	case domain.RoleAuditor:
		return "/audit"
	case domain.RoleOfficial, domain.RoleModerator, domain.RoleAdmin:
		return "/dashboard"
	}
	return "/"
}

var errTooMany = errors.New("web: too many failed sign-ins from this address")

// signinFailed shows a clear page for a refused sign-in: one sentence per
// kind of failure, never the provider's own text.
func (h *Handler) signinFailed(w http.ResponseWriter, r *http.Request, err error) {
	key, status := "signin.err.provider", http.StatusBadGateway
	switch {
	case errors.Is(err, errTooMany):
		key, status = "signin.err.toomany", http.StatusTooManyRequests
		w.Header().Set("Retry-After", "60")
	case errors.Is(err, auth.ErrUnknownProvider):
		key, status = "signin.err.unknown", http.StatusNotFound
	case errors.Is(err, auth.ErrState):
		key, status = "signin.err.state", http.StatusBadRequest
	case errors.Is(err, auth.ErrNonce):
		key, status = "signin.err.nonce", http.StatusBadRequest
	case errors.Is(err, auth.ErrExpired):
		key, status = "signin.err.expired", http.StatusUnauthorized
	case errors.Is(err, auth.ErrToken):
		key, status = "signin.err.token", http.StatusUnauthorized
	case errors.Is(err, auth.ErrCode):
		key, status = "signin.err.code", http.StatusBadRequest
	case errors.Is(err, auth.ErrNoRole):
		key, status = "signin.err.norole", http.StatusForbidden
	}
	c := h.cats[h.language(w, r)]
	p := h.newPage(w, r, c.t("signin.failed"))
	p.Error = c.t(key)
	p.At = view{Latest: true}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "signinerror", p)
}

type signupData struct {
	Name        string // from the provider, offered for publishing
	Pseudonym   string
	Language    string
	PublishName bool
	ResearchUse bool
}

func (h *Handler) signupForm(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.visitor(r)
	if !ok || sess.Pending == nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	lang := h.language(w, r)
	h.renderSignup(w, r, http.StatusOK, sess, signupData{Name: sess.Pending.Name, Language: lang}, nil)
}

func (h *Handler) renderSignup(w http.ResponseWriter, r *http.Request, status int, sess auth.Session, d signupData, errs []errItem) {
	c := h.cats[h.language(w, r)]
	p := h.newPage(w, r, c.t("signup.title"))
	p.CSRF = sess.CSRF
	p.Data = d
	if len(errs) > 0 {
		p.Error = c.t("form.errors")
		p.ErrorItems = errs
	}
	p.At = view{Latest: true}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "signup", p)
}

// signup registers the new participant: pseudonym, language and consents
// as chosen, name and e-mail from the provider sealed with the
// participant's key. The participant id is the keyed hash of the provider
// identity (auth.Link), so a retry or a second tab registers once.
func (h *Handler) signup(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	sess, ok := h.visitor(r)
	if !ok || sess.Pending == nil {
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	if !auth.CheckCSRF(r, sess) {
		h.forbidden(w, r)
		return
	}
	c := h.cats[h.language(w, r)]
	d := signupData{Name: sess.Pending.Name, Pseudonym: strings.TrimSpace(r.PostFormValue("pseudonym")),
		Language: r.PostFormValue("language"), PublishName: r.PostFormValue("publish_name") == "yes",
		ResearchUse: r.PostFormValue("research_use") == "yes"}
	var errs []errItem
	if d.Pseudonym == "" || utf8.RuneCountInString(d.Pseudonym) > 40 {
		errs = append(errs, errItem{Field: "pseudonym", Text: c.t("signup.err.pseudonym")})
	}
	if !known(d.Language) {
		errs = append(errs, errItem{Field: "language-sv", Text: c.t("signup.err.language")})
	}
	if d.PublishName && d.Name == "" {
		d.PublishName = false
	}
	if len(errs) > 0 {
		h.renderSignup(w, r, http.StatusUnprocessableEntity, sess, d, errs)
		return
	}
	pid := sess.Pending.Participant
	actor := domain.Actor{ID: pid, Role: domain.RoleParticipant}
	_, err := h.svc.RegisterParticipant(r.Context(), actor, ledger.Request[domain.RegisterParticipant]{
		Command: domain.RegisterParticipant{ParticipantID: pid, Pseudonym: d.Pseudonym, Name: sess.Pending.Name,
			Email: sess.Pending.Email, Language: d.Language, PublishName: d.PublishName, ResearchUse: d.ResearchUse},
		IdempotencyKey: "signup", RequestID: "web-signup",
	})
	if errors.Is(err, domain.ErrInvalid) {
		h.renderSignup(w, r, http.StatusUnprocessableEntity, sess, d, []errItem{{Field: "pseudonym", Text: c.t("signup.err.pseudonym")}})
		return
	}
	if err != nil && !errors.Is(err, domain.ErrConflict) { // conflict: registered already (another tab)
		h.fail(w, r, err)
		return
	}
	h.sessions.Update(r, func(s *auth.Session) {
		s.Pending = nil
		s.Principal = ledger.Principal{Name: pid, Role: domain.RoleParticipant, Participant: pid}
		s.Pseudonym = d.Pseudonym
	})
	http.Redirect(w, r, "/my?welcome=1", http.StatusSeeOther)
}

// signout ends the session at the ledger and, when the provider offers
// RP-initiated logout, at the provider too.
func (h *Handler) signout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	sess, ok := h.visitor(r)
	if ok && !auth.CheckCSRF(r, sess) {
		h.forbidden(w, r)
		return
	}
	h.sessions.End(w, r)
	if ok && sess.Provider != "" {
		if u := h.cfg.SignIn.EndSessionURL(r.Context(), sess.Provider, sess.IDToken(), h.origin(r)+"/"); u != "" {
			http.Redirect(w, r, u, http.StatusSeeOther)
			return
		}
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// origin is this site's scheme and host, for the provider to send the
// browser back to after signing out.
func (h *Handler) origin(r *http.Request) string {
	scheme := "http"
	if h.sessions.Secure(r) {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host}).String()
}

func (h *Handler) forbidden(w http.ResponseWriter, r *http.Request) {
	c := h.cats[h.language(w, r)]
	p := h.newPage(w, r, c.t("error.csrf"))
	p.Error = c.t("error.csrf")
	p.At = view{Latest: true}
	h.render(w, r, http.StatusForbidden, "signinerror", p)
}
