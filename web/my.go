package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
)

// The resident's own page ("Mina sidor"): everything recorded about them,
// read from ledger.ParticipantData (the same complete answer as the GDPR
// download), grouped by item, with the forms a resident needs: appeal a
// decision with grounds, change consent, ask for erasure.

// myData is the own page.
type myData struct {
	Participant string
	Pseudonym   string
	Language    string
	PublishName bool
	ResearchUse bool
	Erased      bool
	Items       []*myItem
	Supports    int
	Receipts    []myReceipt
	Erasures    []*myErasure
	OpenErasure bool
	Key         string // idempotency key of the page's forms
	Appeal      appealForm
}

// appealForm is a rejected appeal form shown again with its error.
type appealForm struct {
	Decision string
	Grounds  string
}

type sealedText struct {
	Text     string `json:"text"`
	Disposed bool   `json:"disposed"`
}

type myItem struct {
	Kind        domain.ItemKind
	ID          string
	ProcessID   string
	Submission  string // a comment's submission
	Title, Body string
	Disposed    bool
	At          time.Time
	Version     int
	Status      string // received, forwarded, answered
	Visibility  string // of the latest decision; "" when none
	Decisions   []*myDecision
	Responses   []myResponse
	Forwards    []myForward
}

type myDecision struct {
	ID                 string
	Visibility         string `json:"visibility"`
	Ground             string `json:"ground"`
	LegalGround        string `json:"legal_ground"`
	PolicyClause       string `json:"policy_clause"`
	GroundExplanation  string `json:"ground_explanation"`
	Category           string `json:"category"`
	Explanation        string `json:"explanation"`
	AutomatedDetection bool   `json:"automated_detection"`
	AutomatedDecision  string `json:"automated_decision"`
	Source             string `json:"source"`
	ContentVersion     int    `json:"content_version"`
	At                 time.Time
	Appeal             *myAppeal
}

type myAppeal struct {
	ID          string
	Grounds     string
	Outcome     string // "" while pending
	Explanation string
	At          time.Time
}

type myResponse struct {
	Body              string `json:"body"`
	ResponsibleBody   string `json:"responsible_body"`
	DecisionReference string `json:"decision_reference"`
	Outcome           string `json:"outcome"`
	At                time.Time
}

type myForward struct {
	To         string `json:"to"`
	CaseNumber string `json:"case_number"`
	At         time.Time
}

type myReceipt struct {
	Position eventstore.Position
	EventID  string
	Type     string
	At       time.Time
}

type myErasure struct {
	ID          string
	Reason      string
	Outcome     string
	Basis       string
	Explanation string
	At          time.Time
}

// collect builds the page from the participant's recorded events.
func collect(pid string, evs []ledger.RecordedEvent) (myData, error) {
	d := myData{Participant: pid}
	items := map[string]*myItem{}
	decisions := map[string]*myDecision{}
	erasures := map[string]*myErasure{}
	appeals := map[string]*myAppeal{}
	item := func(id string) *myItem { return items[id] }
	for _, e := range evs {
		if e.Actor == pid {
			d.Receipts = append(d.Receipts, myReceipt{Position: e.Position, EventID: e.ID, Type: e.Type, At: e.RecordedAt})
		}
		var err error
		switch e.Type {
		case "ParticipantRegistered":
			var v struct {
				Pseudonym   string `json:"pseudonym"`
				Language    string `json:"language"`
				PublishName bool   `json:"publish_name"`
				ResearchUse bool   `json:"research_use"`
			}
			err = json.Unmarshal(e.Data, &v)
			d.Pseudonym, d.Language, d.PublishName, d.ResearchUse = v.Pseudonym, v.Language, v.PublishName, v.ResearchUse
		case "ConsentChanged":
			var v struct {
				PublishName bool `json:"publish_name"`
				ResearchUse bool `json:"research_use"`
			}
			err = json.Unmarshal(e.Data, &v)
			d.PublishName, d.ResearchUse = v.PublishName, v.ResearchUse
		case "ErasureRequested":
			var v struct {
				RequestID string     `json:"request_id"`
				Reason    sealedText `json:"reason"`
			}
			err = json.Unmarshal(e.Data, &v)
			r := &myErasure{ID: v.RequestID, Reason: v.Reason.Text, At: e.OccurredAt}
			erasures[v.RequestID] = r
			d.Erasures = append(d.Erasures, r)
		case "ErasureDecided":
			var v struct {
				RequestID   string `json:"request_id"`
				Outcome     string `json:"outcome"`
				Basis       string `json:"basis"`
				Explanation string `json:"explanation"`
			}
			err = json.Unmarshal(e.Data, &v)
			if r := erasures[v.RequestID]; r != nil {
				r.Outcome, r.Basis, r.Explanation = v.Outcome, v.Basis, v.Explanation
			}
			if v.Outcome == domain.ErasureGranted {
				d.Erased = true
			}
		case "SubmissionReceived", "CommentPosted":
			var v struct {
				SubmissionID string     `json:"submission_id"`
				CommentID    string     `json:"comment_id"`
				ProcessID    string     `json:"process_id"`
				Author       string     `json:"author"`
				Title        sealedText `json:"title"`
				Body         sealedText `json:"body"`
			}
			if err = json.Unmarshal(e.Data, &v); err != nil || v.Author != pid {
				break
			}
			it := &myItem{Kind: domain.ItemSubmission, ID: v.SubmissionID, ProcessID: v.ProcessID, Title: v.Title.Text,
				Body: v.Body.Text, Disposed: v.Body.Disposed, At: e.OccurredAt, Version: 1, Status: "received"}
			if e.Type == "CommentPosted" {
				it.Kind, it.ID, it.Submission = domain.ItemComment, v.CommentID, v.SubmissionID
			}
			items[it.ID] = it
			d.Items = append(d.Items, it)
		case "SubmissionRevised":
			var v struct {
				SubmissionID string     `json:"submission_id"`
				Version      int        `json:"version"`
				Title        sealedText `json:"title"`
				Body         sealedText `json:"body"`
			}
			err = json.Unmarshal(e.Data, &v)
			if it := item(v.SubmissionID); it != nil {
				it.Version, it.Title, it.Body, it.Disposed = v.Version, v.Title.Text, v.Body.Text, v.Body.Disposed
			}
		case "SupportGiven":
			d.Supports++
		case "SupportWithdrawn":
			d.Supports--
		case "ModerationDecided":
			var v struct {
				myDecision
				DecisionID string    `json:"decision_id"`
				ItemID     string    `json:"item_id"`
				DecidedAt  time.Time `json:"decided_at"`
			}
			err = json.Unmarshal(e.Data, &v)
			if it := item(v.ItemID); it != nil {
				dec := v.myDecision
				dec.ID, dec.At = v.DecisionID, v.DecidedAt
				if dec.At.IsZero() {
					dec.At = e.OccurredAt
				}
				decisions[dec.ID] = &dec
				it.Decisions = append(it.Decisions, &dec)
				it.Visibility = dec.Visibility
			}
		case "AppealFiled":
			var v struct {
				AppealID   string     `json:"appeal_id"`
				DecisionID string     `json:"decision_id"`
				Grounds    sealedText `json:"grounds"`
			}
			err = json.Unmarshal(e.Data, &v)
			if dec := decisions[v.DecisionID]; dec != nil {
				dec.Appeal = &myAppeal{ID: v.AppealID, Grounds: v.Grounds.Text, At: e.OccurredAt}
				appeals[v.AppealID] = dec.Appeal
			}
		case "AppealDecided":
			var v struct {
				AppealID    string `json:"appeal_id"`
				Outcome     string `json:"outcome"`
				Explanation string `json:"explanation"`
			}
			err = json.Unmarshal(e.Data, &v)
			if a := appeals[v.AppealID]; a != nil {
				a.Outcome, a.Explanation = v.Outcome, v.Explanation
			}
		case "SubmissionForwarded":
			var v struct {
				myForward
				SubmissionID string `json:"submission_id"`
			}
			err = json.Unmarshal(e.Data, &v)
			if it := item(v.SubmissionID); it != nil {
				f := v.myForward
				f.At = e.OccurredAt
				it.Forwards = append(it.Forwards, f)
				if it.Status == "received" {
					it.Status = "forwarded"
				}
			}
		case "OfficialResponsePublished":
			var v struct {
				myResponse
				SubmissionID string `json:"submission_id"`
			}
			err = json.Unmarshal(e.Data, &v)
			if it := item(v.SubmissionID); it != nil {
				r := v.myResponse
				r.At = e.OccurredAt
				it.Responses = append(it.Responses, r)
				it.Status = "answered"
			}
		}
		if err != nil {
			return d, fmt.Errorf("web: own page: %s at %d: %w", e.Type, e.Position, err)
		}
	}
	for _, r := range d.Erasures {
		if r.Outcome == "" {
			d.OpenErasure = true
		}
	}
	// Newest first: what changed last is what the resident looks for.
	slices.Reverse(d.Items)
	slices.Reverse(d.Receipts)
	return d, nil
}

// my is the resident's own page.
func (h *Handler) my(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.resident(w, r)
	if !ok {
		return
	}
	h.renderMy(w, r, http.StatusOK, sess, "", nil, appealForm{})
}

func (h *Handler) renderMy(w http.ResponseWriter, r *http.Request, status int, sess auth.Session, flash string, errs []errItem, af appealForm) {
	pid := sess.Principal.Participant
	evs, err := h.svc.ParticipantData(r.Context(), sess.Actor(), pid, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := collect(pid, evs)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Key, d.Appeal = uuid.NewString(), af
	c := h.cats[h.language(w, r)]
	p := h.newPage(w, r, c.t("my.title"))
	p.Flash = flash
	if r.URL.Query().Get("welcome") != "" {
		p.Flash = c.t("my.welcome", sess.Pseudonym)
	}
	if f := r.URL.Query().Get("done"); f != "" && p.Flash == "" {
		p.Flash = c.t("my.done." + f)
	}
	if len(errs) > 0 {
		p.Error, p.ErrorItems = c.t("form.errors"), errs
	}
	p.Data = d
	p.At = view{Latest: true}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, status, "my", p)
}

// myPost checks a form of the own page: a resident session and its CSRF
// token.
func (h *Handler) myPost(w http.ResponseWriter, r *http.Request) (auth.Session, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	sess, ok := h.resident(w, r)
	if !ok {
		return sess, false
	}
	if !auth.CheckCSRF(r, sess) {
		h.forbidden(w, r)
		return sess, false
	}
	return sess, true
}

func formKey(r *http.Request) string {
	if k := r.PostFormValue("idempotency_key"); k != "" && len(k) <= 64 {
		return k
	}
	return uuid.NewString()
}

// myConsent sets both consents as the form has them.
func (h *Handler) myConsent(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.myPost(w, r)
	if !ok {
		return
	}
	_, err := h.svc.ChangeConsent(r.Context(), sess.Actor(), sess.Principal.Participant, ledger.Request[domain.ChangeConsent]{
		Command:        domain.ChangeConsent{PublishName: r.PostFormValue("publish_name") == "yes", ResearchUse: r.PostFormValue("research_use") == "yes"},
		IdempotencyKey: formKey(r), RequestID: "web-consent"})
	h.myAnswer(w, r, sess, err, "consent", "consent")
}

// myErasure records an erasure request in the resident's words.
func (h *Handler) myErasure(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.myPost(w, r)
	if !ok {
		return
	}
	_, err := h.svc.RequestErasure(r.Context(), sess.Actor(), sess.Principal.Participant, ledger.Request[domain.RequestErasure]{
		Command:        domain.RequestErasure{Reason: strings.TrimSpace(r.PostFormValue("reason")), Channel: domain.ChannelWeb},
		IdempotencyKey: formKey(r), RequestID: "web-erasure"})
	h.myAnswer(w, r, sess, err, "erasure", "reason")
}

// myAppeal files an appeal against a decision on the resident's content.
func (h *Handler) myAppeal(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.myPost(w, r)
	if !ok {
		return
	}
	kind := domain.ItemKind(r.PostFormValue("kind"))
	if kind != domain.ItemSubmission && kind != domain.ItemComment {
		h.myAnswer(w, r, sess, fmt.Errorf("%w: item kind", domain.ErrInvalid), "appeal", "")
		return
	}
	af := appealForm{Decision: r.PostFormValue("decision"), Grounds: strings.TrimSpace(r.PostFormValue("grounds"))}
	if af.Grounds == "" {
		c := h.cats[h.language(w, r)]
		h.renderMy(w, r, http.StatusUnprocessableEntity, sess, "", []errItem{{Field: "grounds-" + af.Decision, Text: c.t("my.err.grounds")}}, af)
		return
	}
	_, err := h.svc.FileAppeal(r.Context(), sess.Actor(), kind, r.PostFormValue("item"), ledger.Request[domain.FileAppeal]{
		Command:        domain.FileAppeal{DecisionID: af.Decision, Grounds: af.Grounds},
		IdempotencyKey: formKey(r), RequestID: "web-appeal"})
	if err != nil && !errors.Is(err, domain.ErrConflict) {
		c := h.cats[h.language(w, r)]
		if errors.Is(err, domain.ErrInvalid) || errors.Is(err, domain.ErrForbidden) || errors.Is(err, domain.ErrNotFound) {
			h.renderMy(w, r, http.StatusUnprocessableEntity, sess, "", []errItem{{Field: "grounds-" + af.Decision, Text: c.t("my.err.appeal")}}, af)
			return
		}
	}
	h.myAnswer(w, r, sess, err, "appeal", "")
}

// myAnswer redirects after a write (post/redirect/get), or shows the
// page again with what went wrong.
func (h *Handler) myAnswer(w http.ResponseWriter, r *http.Request, sess auth.Session, err error, what, field string) {
	switch {
	case err == nil:
		http.Redirect(w, r, "/my?done="+what+"#"+what, http.StatusSeeOther)
	case errors.Is(err, domain.ErrConflict):
		c := h.cats[h.language(w, r)]
		h.renderMy(w, r, http.StatusConflict, sess, "", []errItem{{Field: field, Text: c.t("my.err.conflict." + what)}}, appealForm{})
	case errors.Is(err, domain.ErrInvalid):
		c := h.cats[h.language(w, r)]
		h.renderMy(w, r, http.StatusUnprocessableEntity, sess, "", []errItem{{Field: field, Text: c.t("my.err.invalid")}}, appealForm{})
	default:
		h.fail(w, r, err)
	}
}

// myDownload is everything recorded about the resident, as JSON (the
// GDPR right of access): the same answer as GET /v1/participants/{id}/data.
func (h *Handler) myDownload(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.resident(w, r)
	if !ok {
		return
	}
	pid := sess.Principal.Participant
	evs, err := h.svc.ParticipantData(r.Context(), sess.Actor(), pid, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	b, err := json.MarshalIndent(map[string]any{"participant": pid, "events": evs}, "", "  ")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="mina-uppgifter-`+pid+`.json"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// myReceipt is the integrity receipt of one of the resident's own writes,
// to check with `ledger verify --receipt` (see /verify).
func (h *Handler) myReceipt(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.resident(w, r)
	if !ok {
		return
	}
	pos, err := strconv.ParseUint(chi.URLParam(r, "position"), 10, 64)
	if err != nil || pos == 0 || h.cfg.Receipt == nil {
		h.notFound(w, r)
		return
	}
	evs, err := h.cfg.Store.ReadAll(r.Context(), eventstore.Position(pos-1), 1)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(evs) != 1 || evs[0].Position != eventstore.Position(pos) || evs[0].Metadata.Actor != sess.Principal.Participant {
		h.notFound(w, r)
		return
	}
	rc, err := h.cfg.Receipt(r.Context(), ledger.Appended{ID: evs[0].ID.String(), Type: evs[0].Type, Stream: evs[0].Stream,
		Revision: evs[0].Revision, Position: evs[0].Position})
	if err != nil {
		c := h.cats[h.language(w, r)]
		h.renderMy(w, r, http.StatusServiceUnavailable, sess, "", []errItem{{Text: c.t("my.err.receipt")}}, appealForm{})
		return
	}
	b, err := json.MarshalIndent(rc, "", "  ")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="receipt-`+evs[0].ID.String()+`.json"`)
	w.Write(b)
}
