package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

// resultsData is the public results page: what became of each proposal.
type resultsData struct {
	projections.ProcessResults
	T       text
	Rows    []resultRow
	Elected bool // the visitor may record the elected body's feedback
}

type resultRow struct {
	projections.ProposalResult
	Title opened
}

// results is the public accountability page of a process.
func (h *Handler) results(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	v, err := h.resolve(r)
	if err != nil {
		h.badAsOf(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	var (
		res   projections.ProcessResults
		found bool
	)
	err = h.read(r.Context(), v, func(m *projections.View) {
		v.Pos = m.Position()
		res, found = projections.ResultsOf(m, id)
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	d := resultsData{ProcessResults: res, T: pick(res.Process.Title, p.Lang), Elected: p.User != nil && p.User.Role == domain.RoleElected}
	for _, pr := range res.Proposals {
		d.Rows = append(d.Rows, resultRow{ProposalResult: pr, Title: h.open(pr.Title)})
	}
	// Newest decisions first: that is what residents come back for.
	slices.Reverse(d.Feedback)
	p.Title, p.At, p.Data = h.cats[p.Lang].t("results.title", d.T.S), v, d
	h.render(w, r, http.StatusOK, "results", p)
}

// feedbackData is the elected member's form.
type feedbackData struct {
	resultsData
	Key      string
	Outcomes []string
	Form     url.Values
}

// elected returns the signed-in elected member and their session's CSRF
// token; others get the login page (or, signed in in another role, 403).
func (h *Handler) elected(w http.ResponseWriter, r *http.Request) (ledger.Principal, string, bool) {
	sess, ok := h.visitor(r)
	if !ok || sess.Pending != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return ledger.Principal{}, "", false
	}
	if sess.Principal.Role != domain.RoleElected {
		p := h.newPage(w, r, h.cats[h.language(w, r)].t("error.title"))
		p.Error, p.At = h.cats[p.Lang].t("feedback.onlyelected"), view{Latest: true}
		h.render(w, r, http.StatusForbidden, "error", p)
		return ledger.Principal{}, "", false
	}
	return sess.Principal, sess.CSRF, true
}

func (h *Handler) feedbackData(r *http.Request, p *page, id string) (feedbackData, bool, error) {
	var (
		res   projections.ProcessResults
		found bool
	)
	err := h.read(r.Context(), view{Latest: true}, func(m *projections.View) {
		p.At.Pos = m.Position()
		res, found = projections.ResultsOf(m, id)
	})
	d := feedbackData{resultsData: resultsData{ProcessResults: res, T: pick(res.Process.Title, p.Lang), Elected: true},
		Key: uuid.NewString(), Outcomes: domain.FeedbackOutcomes()}
	for _, pr := range res.Proposals {
		d.Rows = append(d.Rows, resultRow{ProposalResult: pr, Title: h.open(pr.Title)})
	}
	return d, found, err
}

func (h *Handler) feedbackForm(w http.ResponseWriter, r *http.Request) {
	_, tok, ok := h.elected(w, r)
	if !ok {
		return
	}
	p := h.newPage(w, r, "")
	p.At, p.CSRF = view{Latest: true}, tok
	d, found, err := h.feedbackData(r, p, chi.URLParam(r, "id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	p.Title, p.Data = h.cats[p.Lang].t("feedback.title"), d
	h.render(w, r, http.StatusOK, "feedback", p)
}

func (h *Handler) recordFeedback(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	pr, tok, ok := h.elected(w, r)
	if !ok {
		return
	}
	p := h.newPage(w, r, "")
	c := h.cats[p.Lang]
	if !h.checkCSRF(r, tok) {
		p.Title, p.Error, p.At = c.t("error.title"), c.t("error.csrf"), view{Latest: true}
		h.render(w, r, http.StatusForbidden, "error", p)
		return
	}
	id := chi.URLParam(r, "id")
	p.At, p.CSRF = view{Latest: true}, tok
	d, found, err := h.feedbackData(r, p, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	f := r.PostForm
	d.Form, d.Key = f, f.Get("idempotency_key")
	cmd := domain.RecordFeedback{Summary: strings.TrimSpace(f.Get("summary")), Body: strings.TrimSpace(f.Get("body")),
		Paragraph: strings.TrimSpace(f.Get("paragraph")), DecidedOn: f.Get("decided_on"), Outcome: f.Get("outcome")}
	for _, a := range f["answers"] {
		if slices.ContainsFunc(d.Proposals, func(x projections.ProposalResult) bool { return x.ID == a }) {
			cmd.Answers = append(cmd.Answers, a)
		}
	}
	progress, perr := strconv.Atoi(strings.TrimSpace(f.Get("progress")))
	if f.Get("progress") == "" {
		progress, perr = 0, nil
	}
	cmd.Progress = progress
	var missing []string
	if cmd.Summary == "" {
		missing = append(missing, "fb-summary")
	}
	if cmd.Body == "" {
		missing = append(missing, "fb-body")
	}
	if cmd.Paragraph == "" {
		missing = append(missing, "fb-paragraph")
	}
	if _, err := time.Parse(time.DateOnly, cmd.DecidedOn); err != nil {
		missing = append(missing, "fb-decided_on")
	}
	if !slices.Contains(domain.FeedbackOutcomes(), cmd.Outcome) {
		missing = append(missing, "fb-outcome")
	}
	if perr != nil || progress < 0 || progress > 100 {
		missing = append(missing, "fb-progress")
	}
	if d.Key == "" {
		missing = append(missing, "form")
	}
	p.Title, p.Data = c.t("feedback.title"), d
	if len(missing) > 0 {
		p.Error, p.ErrorItems = c.t("mod.missing"), fieldErrors(c, missing)
		h.render(w, r, http.StatusUnprocessableEntity, "feedback", p)
		return
	}
	res, err := h.svc.RecordFeedback(r.Context(), pr.Actor(), id, ledger.Request[domain.RecordFeedback]{Command: cmd, IdempotencyKey: d.Key})
	if err != nil {
		if !errors.Is(err, domain.ErrInvalid) && !errors.Is(err, domain.ErrConflict) && !errors.Is(err, domain.ErrNotFound) &&
			!errors.Is(err, domain.ErrForbidden) && !errors.Is(err, ledger.ErrInvalid) {
			h.fail(w, r, err)
			return
		}
		p.Error, p.ErrorItems = c.t("mod.refused"), []errItem{{Text: c.t("feedback.refused")}}
		h.render(w, r, http.StatusUnprocessableEntity, "feedback", p)
		return
	}
	h.afterWrite(w, r, res, "/processes/"+url.PathEscape(id)+"/results")
}
