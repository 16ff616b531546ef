package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

// Taking part: the forms a signed-in resident uses on a process and a
// submission page — make a proposal, revise one's own, support and withdraw
// support, comment and reply. Every form posts and redirects (no
// JavaScript needed), carries the session's CSRF token and an idempotency
// key made when the form was shown, so a double submit records once.

// The limits a resident is told before sending (domain/validate.go holds
// the same numbers; the domain is what enforces them).
const (
	maxTitle = 200
	maxBody  = 100_000
)

// contentLanguages are offered for a proposal's or comment's language.
var contentLanguages = []string{"sv", "en", "ar", "fi", "pl", "so", "fa", "bs"}

// proposeData is the proposal form (new or a revision).
type proposeData struct {
	ProcessID    string
	Process      text
	Policy       string
	Premoderated bool
	Accepting    bool
	Revise       string // the submission revised; "" for a new proposal
	Title, Body  string
	Language     string
	Languages    []string
	Key          string
	MaxTitle     int
	MaxBody      int
}

// sentData is what the resident sees after sending.
type sentData struct {
	ProcessID    string
	Process      text
	SubmissionID string
	Pending      bool
	Position     eventstore.Position
	Version      int
}

// partData is the submission page's part for a signed-in resident.
type partData struct {
	Resident   bool
	Supports   bool // the phase accepts support
	Supported  bool // this resident supports it
	Comments   bool // the phase accepts comments
	Author     bool // this resident wrote it (may revise)
	Key        string
	ReplyTo    string
	Languages  []string
	SignInPath string
}

func (h *Handler) overview(ctx context.Context, id string) (projections.Overview, bool, error) {
	var (
		o     projections.Overview
		found bool
	)
	err := h.read(ctx, view{Latest: true}, func(m *projections.View) {
		o, found = projections.Get[*projections.Processes](m).Process(id)
	})
	return o, found, err
}

// accepts tells whether the process's current phase takes kind.
func accepts(o projections.Overview, kind domain.ContributionKind) bool {
	if o.Status != "open" {
		return false
	}
	for _, ph := range o.Phases {
		if ph.Name == o.CurrentPhase {
			return slices.Contains(ph.Accepts, kind)
		}
	}
	return false
}

// submissionState folds a submission's stream (for the author and the
// supporters, which the public read model does not name), with the
// position of its first event.
func (h *Handler) submissionState(ctx context.Context, id string) (domain.Submission, eventstore.Position, error) {
	var (
		evs   []domain.Event
		first eventstore.Position
		from  uint64
	)
	for {
		page, err := h.cfg.Store.ReadStream(ctx, domain.StreamForSubmission(id), eventstore.ReadStreamOptions{From: from, Limit: 1000})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return domain.Submission{}, 0, nil
		}
		if err != nil {
			return domain.Submission{}, 0, err
		}
		for _, e := range page {
			ev, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return domain.Submission{}, 0, err
			}
			if first == 0 {
				first = e.Position
			}
			evs = append(evs, ev)
		}
		if len(page) < 1000 {
			break
		}
		from += uint64(len(page))
	}
	return domain.Fold[domain.Submission](evs), first, nil
}

func (h *Handler) proposeForm(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.resident(w, r)
	if !ok {
		return
	}
	d := proposeData{Language: h.language(w, r)}
	if rev := r.URL.Query().Get("revise"); rev != "" {
		s, _, err := h.submissionState(r.Context(), rev)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !s.Exists || s.Author != sess.Principal.Participant || s.ProcessID != chi.URLParam(r, "id") {
			h.notFound(w, r)
			return
		}
		d.Revise = rev
		d.Title, _ = h.svc.Open(s.Title)
		d.Body, _ = h.svc.Open(s.Body)
	}
	h.renderPropose(w, r, http.StatusOK, d, nil)
}

func (h *Handler) renderPropose(w http.ResponseWriter, r *http.Request, status int, d proposeData, errs []errItem) {
	id := chi.URLParam(r, "id")
	o, found, err := h.overview(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	c := h.cats[h.language(w, r)]
	p := h.newPage(w, r, c.t("propose.title"))
	if d.Revise != "" {
		p.Title = c.t("propose.revise")
	}
	d.ProcessID, d.Process, d.Policy = o.ID, pick(o.Title, p.Lang), o.PolicyReference
	d.Premoderated = o.ModerationMode == domain.ModerationPre
	d.Accepting = accepts(o, domain.AcceptsSubmissions)
	d.Languages, d.MaxTitle, d.MaxBody = contentLanguages, maxTitle, maxBody
	if d.Key == "" {
		d.Key = uuid.NewString()
	}
	if len(errs) > 0 {
		p.Error, p.ErrorItems = c.t("form.errors"), errs
	}
	p.Data, p.At = d, view{Latest: true}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "propose", p)
}

// propose records a new proposal, or a revision of the resident's own.
func (h *Handler) propose(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.myPost(w, r)
	if !ok {
		return
	}
	id := chi.URLParam(r, "id")
	c := h.cats[h.language(w, r)]
	d := proposeData{Revise: r.PostFormValue("revise"), Title: strings.TrimSpace(r.PostFormValue("title")),
		Body: strings.TrimSpace(r.PostFormValue("body")), Language: r.PostFormValue("language"), Key: formKey(r)}
	var errs []errItem
	if d.Title == "" || utf8.RuneCountInString(d.Title) > maxTitle {
		errs = append(errs, errItem{Field: "title", Text: c.t("propose.err.title", maxTitle)})
	}
	if d.Body == "" || utf8.RuneCountInString(d.Body) > maxBody {
		errs = append(errs, errItem{Field: "body", Text: c.t("propose.err.body", maxBody)})
	}
	if !slices.Contains(contentLanguages, d.Language) {
		errs = append(errs, errItem{Field: "language", Text: c.t("propose.err.language")})
	}
	if len(errs) > 0 {
		h.renderPropose(w, r, http.StatusUnprocessableEntity, d, errs)
		return
	}
	var (
		res ledger.Result
		err error
	)
	if d.Revise != "" {
		res, err = h.svc.ReviseSubmission(r.Context(), sess.Actor(), d.Revise, ledger.Request[domain.ReviseSubmission]{
			Command: domain.ReviseSubmission{Title: d.Title, Body: d.Body}, IdempotencyKey: d.Key, RequestID: "web-revise"})
		res.ID = d.Revise
	} else {
		res, err = h.svc.ReceiveSubmission(r.Context(), sess.Actor(), id, ledger.Request[domain.ReceiveSubmission]{
			Command:        domain.ReceiveSubmission{Language: d.Language, Title: d.Title, Body: d.Body, Channel: domain.ChannelWeb},
			IdempotencyKey: d.Key, RequestID: "web-propose"})
	}
	switch {
	case err == nil:
		h.cfg.Runner.Wait(r.Context(), res.Last().Position)
		http.Redirect(w, r, "/processes/"+id+"/sent/"+res.ID, http.StatusSeeOther)
	case errors.Is(err, domain.ErrConflict):
		h.renderPropose(w, r, http.StatusConflict, d, []errItem{{Text: c.t("propose.err.closed")}})
	case errors.Is(err, domain.ErrInvalid), errors.Is(err, domain.ErrForbidden), errors.Is(err, domain.ErrNotFound):
		h.renderPropose(w, r, http.StatusUnprocessableEntity, d, []errItem{{Text: c.t("my.err.invalid")}})
	default:
		h.fail(w, r, err)
	}
}

// sent shows a proposal's status (published or awaiting moderation) and
// its receipt to its author.
func (h *Handler) sent(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.resident(w, r)
	if !ok {
		return
	}
	s, _, err := h.submissionState(r.Context(), chi.URLParam(r, "sub"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !s.Exists || s.Author != sess.Principal.Participant {
		h.notFound(w, r)
		return
	}
	// The receipt is of the latest content version the author wrote.
	evs, err := h.cfg.Store.ReadStream(r.Context(), domain.StreamForSubmission(s.ID), eventstore.ReadStreamOptions{
		Direction: eventstore.Backwards, From: eventstore.End, Limit: 1000})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := sentData{ProcessID: s.ProcessID, SubmissionID: s.ID, Pending: s.Status == domain.StatusPending, Version: s.Version}
	for _, e := range evs {
		if (e.Type == "SubmissionReceived" || e.Type == "SubmissionRevised") && e.Metadata.Actor == sess.Principal.Participant {
			d.Position = e.Position
			break
		}
	}
	o, _, err := h.overview(r.Context(), s.ProcessID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c := h.cats[h.language(w, r)]
	p := h.newPage(w, r, c.t("sent.title"))
	d.Process = pick(o.Title, p.Lang)
	p.Data, p.At = d, view{Latest: true}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "sent", p)
}

// takePart fills the submission page's forms for a signed-in resident.
func (h *Handler) takePart(r *http.Request, p *page, d *submissionData) error {
	part := &partData{Languages: contentLanguages, ReplyTo: r.URL.Query().Get("reply"), SignInPath: "/signin"}
	d.Part = part
	if !p.At.Latest {
		return nil
	}
	o, _, err := h.overview(r.Context(), d.ProcessID)
	if err != nil {
		return err
	}
	part.Supports, part.Comments = accepts(o, domain.AcceptsSupport), accepts(o, domain.AcceptsComments)
	sess, ok := h.visitor(r)
	if !ok || !sess.Resident() || sess.Pending != nil {
		return nil
	}
	s, _, err := h.submissionState(r.Context(), d.ID)
	if err != nil {
		return err
	}
	pid := sess.Principal.Participant
	part.Resident, part.Supported, part.Author, part.Key = true, s.Supporters[pid], s.Author == pid, uuid.NewString()
	switch f := r.URL.Query().Get("done"); f {
	case "support", "withdraw", "comment", "comment-pending":
		p.Flash = h.cats[p.Lang].t("part.done." + f)
	}
	switch f := r.URL.Query().Get("error"); f {
	case "support", "withdraw", "comment", "comment-pending":
		p.Error = h.cats[p.Lang].t("part.err." + f)
	}
	return nil
}

// thread orders comments depth first under their parents, with depth.
func thread(rows []commentRow) []commentRow {
	children := map[string][]commentRow{}
	ids := map[string]bool{}
	for _, c := range rows {
		ids[c.ID] = true
	}
	for _, c := range rows {
		parent := c.ParentID
		if !ids[parent] {
			parent = ""
		}
		children[parent] = append(children[parent], c)
	}
	out := make([]commentRow, 0, len(rows))
	var walk func(parent string, depth int)
	walk = func(parent string, depth int) {
		for _, c := range children[parent] {
			c.Depth = min(depth, 3)
			out = append(out, c)
			walk(c.ID, depth+1)
		}
	}
	walk("", 0)
	return out
}

// submissionPost checks a resident's form on a submission page.
func (h *Handler) submissionPost(w http.ResponseWriter, r *http.Request) (auth.Session, string, bool) {
	sess, ok := h.myPost(w, r)
	return sess, chi.URLParam(r, "id"), ok
}

// support gives or withdraws the resident's support.
func (h *Handler) support(w http.ResponseWriter, r *http.Request) {
	sess, id, ok := h.submissionPost(w, r)
	if !ok {
		return
	}
	var (
		res ledger.Result
		err error
	)
	done := "support"
	if r.PostFormValue("action") == "withdraw" {
		done = "withdraw"
		res, err = h.svc.WithdrawSupport(r.Context(), sess.Actor(), id, ledger.Request[domain.WithdrawSupport]{IdempotencyKey: formKey(r), RequestID: "web-withdraw"})
	} else {
		res, err = h.svc.GiveSupport(r.Context(), sess.Actor(), id, ledger.Request[domain.GiveSupport]{IdempotencyKey: formKey(r), RequestID: "web-support"})
	}
	h.partAnswer(w, r, id, res, err, done, "support")
}

// comment posts a comment or a reply.
func (h *Handler) comment(w http.ResponseWriter, r *http.Request) {
	sess, id, ok := h.submissionPost(w, r)
	if !ok {
		return
	}
	body := strings.TrimSpace(r.PostFormValue("body"))
	lang := r.PostFormValue("language")
	if !slices.Contains(contentLanguages, lang) {
		lang = h.language(w, r)
	}
	if body == "" || utf8.RuneCountInString(body) > maxBody {
		http.Redirect(w, r, "/submissions/"+id+"?error=comment#comment-form", http.StatusSeeOther)
		return
	}
	res, err := h.svc.PostComment(r.Context(), sess.Actor(), id, ledger.Request[domain.PostComment]{
		Command:        domain.PostComment{ParentID: r.PostFormValue("parent"), Language: lang, Body: body, Channel: domain.ChannelWeb},
		IdempotencyKey: formKey(r), RequestID: "web-comment"})
	done := "comment"
	if err == nil {
		if o, _, oerr := h.overview(r.Context(), h.processOf(r.Context(), id)); oerr == nil && o.ModerationMode == domain.ModerationPre {
			done = "comment-pending"
		}
	}
	h.partAnswer(w, r, id, res, err, done, "comments")
}

func (h *Handler) processOf(ctx context.Context, submission string) string {
	s, _, err := h.submissionState(ctx, submission)
	if err != nil {
		return ""
	}
	return s.ProcessID
}

// partAnswer redirects after a write (post/redirect/get) once the read
// models show it, or says what went wrong on the submission page.
func (h *Handler) partAnswer(w http.ResponseWriter, r *http.Request, id string, res ledger.Result, err error, done, anchor string) {
	switch {
	case err == nil:
		h.cfg.Runner.Wait(r.Context(), res.Last().Position)
		http.Redirect(w, r, "/submissions/"+id+"?done="+done+"#"+anchor, http.StatusSeeOther)
	case errors.Is(err, domain.ErrConflict), errors.Is(err, domain.ErrInvalid), errors.Is(err, domain.ErrForbidden):
		http.Redirect(w, r, "/submissions/"+id+"?error="+done+"#"+anchor, http.StatusSeeOther)
	case errors.Is(err, domain.ErrNotFound):
		h.notFound(w, r)
	default:
		h.fail(w, r, err)
	}
}
