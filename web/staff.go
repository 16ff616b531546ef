package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

// worklistData is the officials' worklist: proposals over the support
// threshold without an answer, and forwarded proposals waiting for the
// other administration, longest waiting first.
type worklistData struct {
	Rows     []workRow
	Outcomes []string
}

type workRow struct {
	ID        string
	Process   text
	Body      string // the process's owner body, the default answering body
	Title     opened
	Waiting   string // "answer" or "forwarded"
	To        string // the administration it waits for
	Since     time.Time
	Days      int
	Supports  int
	Key       string
	ForwardTo []string // administrations it can still be forwarded to
}

// official returns the signed-in official and their CSRF token.
func (h *Handler) official(w http.ResponseWriter, r *http.Request) (ledger.Principal, string, bool) {
	pr, tok, ok := h.staff(w, r, true)
	if !ok {
		return pr, "", false
	}
	if pr.Role != domain.RoleOfficial {
		p := h.newPage(w, r, h.cats[h.language(w, r)].t("error.title"))
		p.Error, p.At = h.cats[p.Lang].t("work.onlyofficials"), view{Latest: true}
		h.render(w, r, http.StatusForbidden, "error", p)
		return pr, "", false
	}
	return pr, tok, true
}

func (h *Handler) worklistRows(r *http.Request, p *page) ([]workRow, error) {
	now := time.Now()
	var rows []workRow
	err := h.read(r.Context(), view{Latest: true}, func(m *projections.View) {
		p.At.Pos = m.Position()
		subs := projections.Get[*projections.Submissions](m)
		for _, o := range projections.Get[*projections.Processes](m).List() {
			for _, s := range subs.PublicList(o.ID) {
				if s.Response != nil {
					continue
				}
				row := workRow{ID: s.ID, Process: pick(o.Title, p.Lang), Body: o.OwnerBody, Supports: s.Supports, Key: uuid.NewString()}
				if s.Content != nil {
					row.Title = h.open(s.Content.Title)
				}
				for _, a := range o.Administrations {
					if !slices.ContainsFunc(s.Forwards, func(f projections.Forward) bool { return f.To == a }) {
						row.ForwardTo = append(row.ForwardTo, a)
					}
				}
				switch {
				case len(s.Forwards) > 0:
					last := s.Forwards[len(s.Forwards)-1]
					row.Waiting, row.To, row.Since = "forwarded", last.To, last.ForwardedAt
				case s.Threshold != nil:
					row.Waiting, row.Since = "answer", s.Threshold.At
				default:
					continue
				}
				row.Days = int(now.Sub(row.Since).Hours() / 24)
				rows = append(rows, row)
			}
		}
	})
	slices.SortStableFunc(rows, func(a, b workRow) int { return a.Since.Compare(b.Since) })
	return rows, err
}

func (h *Handler) worklist(w http.ResponseWriter, r *http.Request) {
	_, tok, ok := h.official(w, r)
	if !ok {
		return
	}
	p := h.newPage(w, r, "")
	p.At, p.CSRF = view{Latest: true}, tok
	rows, err := h.worklistRows(r, p)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Title, p.Data = h.cats[p.Lang].t("work.title"), worklistData{Rows: rows, Outcomes: answerOutcomes}
	h.render(w, r, http.StatusOK, "worklist", p)
}

var answerOutcomes = []string{domain.OutcomeApproved, domain.OutcomePartiallyApproved, domain.OutcomeRejected, domain.OutcomeAnswered}

// workPost checks an official's form post and re-renders the worklist with
// the errors when fields are missing or the ledger refuses.
func (h *Handler) workPost(w http.ResponseWriter, r *http.Request, run func(pr ledger.Principal, f url.Values) ([]string, ledger.Result, error)) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	pr, tok, ok := h.official(w, r)
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
	missing, res, err := run(pr, r.PostForm)
	if len(missing) == 0 && err == nil {
		h.afterWrite(w, r, res, "/worklist")
		return
	}
	if err != nil && !errors.Is(err, domain.ErrInvalid) && !errors.Is(err, domain.ErrConflict) &&
		!errors.Is(err, domain.ErrNotFound) && !errors.Is(err, domain.ErrForbidden) && !errors.Is(err, ledger.ErrInvalid) {
		h.fail(w, r, err)
		return
	}
	p.At, p.CSRF = view{Latest: true}, tok
	rows, rerr := h.worklistRows(r, p)
	if rerr != nil {
		h.fail(w, r, rerr)
		return
	}
	if err != nil {
		p.Error, p.ErrorItems = c.t("work.refused"), []errItem{{Text: c.t("work.refusedhint")}}
	} else {
		p.Error, p.ErrorItems = c.t("work.missing"), fieldErrors(c, missing)
	}
	p.Title, p.Data = c.t("work.title"), worklistData{Rows: rows, Outcomes: answerOutcomes}
	h.render(w, r, http.StatusUnprocessableEntity, "worklist", p)
}

func (h *Handler) answer(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	h.workPost(w, r, func(pr ledger.Principal, f url.Values) ([]string, ledger.Result, error) {
		body, resp := strings.TrimSpace(f.Get("responsible_body")), strings.TrimSpace(f.Get("answer"))
		para, date, outcome := strings.TrimSpace(f.Get("paragraph")), f.Get("decided_on"), f.Get("outcome")
		var missing []string
		if resp == "" {
			missing = append(missing, "wk-answer")
		}
		if body == "" {
			missing = append(missing, "wk-body")
		}
		if _, err := time.Parse(time.DateOnly, date); date != "" && err != nil {
			missing = append(missing, "wk-date")
		}
		if !slices.Contains(answerOutcomes, outcome) {
			missing = append(missing, "wk-outcome")
		}
		// An answer that rests on a decision names its §; without one the
		// reference says the answer is the administration's own.
		ref := strings.TrimSpace(strings.Join(slices.DeleteFunc([]string{body, para, date}, func(s string) bool { return s == "" }), " "))
		if para == "" && outcome != domain.OutcomeAnswered {
			missing = append(missing, "wk-paragraph")
		}
		if f.Get("idempotency_key") == "" {
			missing = append(missing, "form")
		}
		if len(missing) > 0 {
			return missing, ledger.Result{}, nil
		}
		res, err := h.svc.PublishResponse(r.Context(), pr.Actor(), id, ledger.Request[domain.PublishResponse]{
			Command:        domain.PublishResponse{Body: resp, ResponsibleBody: body, DecisionReference: ref, Outcome: outcome},
			IdempotencyKey: f.Get("idempotency_key")})
		return nil, res, err
	})
}

func (h *Handler) forwardForm(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	h.workPost(w, r, func(pr ledger.Principal, f url.Values) ([]string, ledger.Result, error) {
		to, respondBy := strings.TrimSpace(f.Get("to")), f.Get("respond_by")
		var missing []string
		if to == "" {
			missing = append(missing, "wk-to")
		}
		if _, err := time.Parse(time.DateOnly, respondBy); respondBy != "" && err != nil {
			missing = append(missing, "wk-respond_by")
		}
		if f.Get("idempotency_key") == "" {
			missing = append(missing, "form")
		}
		if len(missing) > 0 {
			return missing, ledger.Result{}, nil
		}
		res, err := h.svc.ForwardSubmission(r.Context(), pr.Actor(), id, ledger.Request[domain.ForwardSubmission]{
			Command: domain.ForwardSubmission{To: to, Note: strings.TrimSpace(f.Get("note")), CaseNumber: strings.TrimSpace(f.Get("case_number")),
				RespondBy: respondBy}, IdempotencyKey: f.Get("idempotency_key")})
		return nil, res, err
	})
}
