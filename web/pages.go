package web

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/projections"
)

// text is a piece of text with the language it is written in, so pages
// can mark a Swedish title on an English page (WCAG 3.1.2).
type text struct {
	S    string
	Lang string // "" when it is in the page's language
}

// pick returns the official text in lang, falling back to Swedish.
func pick(t domain.Text, lang string) text {
	if lang == "en" && t.En != "" {
		return text{S: t.En}
	}
	if lang == "sv" {
		return text{S: t.Sv}
	}
	return text{S: t.Sv, Lang: "sv"}
}

// opened is a sealed field opened for display.
type opened struct {
	S        string
	Disposed bool
}

func (h *Handler) open(p *domain.Personal) opened {
	if p == nil || p.IsZero() {
		return opened{}
	}
	s, disposed := h.svc.Open(*p)
	return opened{S: s, Disposed: disposed}
}

// ---- home: every process ----

type homeData struct {
	Processes []processRow
}

type processRow struct {
	projections.Overview
	T text
}

func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	p.Title = h.cats[p.Lang].t("home.title")
	v, err := h.resolve(r)
	if err != nil {
		h.badAsOf(w, r, err)
		return
	}
	var d homeData
	err = h.read(r.Context(), v, func(m *projections.View) {
		v.Pos = m.Position()
		for _, o := range projections.Get[*projections.Processes](m).List() {
			d.Processes = append(d.Processes, processRow{Overview: o, T: pick(o.Title, p.Lang)})
		}
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.At, p.Data = v, d
	h.render(w, r, http.StatusOK, "home", p)
}

// ---- one process and its submissions ----

type processData struct {
	projections.Overview
	T, Description text
	Rows           []submissionRow
	PhaseIndex     int
	Accepts        []domain.ContributionKind // what the current phase takes
}

type submissionRow struct {
	projections.PublicSubmission
	Title opened
}

func (h *Handler) process(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	v, err := h.resolve(r)
	if err != nil {
		h.badAsOf(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	var (
		o     projections.Overview
		found bool
		subs  []projections.PublicSubmission
	)
	err = h.read(r.Context(), v, func(m *projections.View) {
		v.Pos = m.Position()
		if o, found = projections.Get[*projections.Processes](m).Process(id); found {
			subs = projections.Get[*projections.Submissions](m).PublicList(id)
		}
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	d := processData{Overview: o, T: pick(o.Title, p.Lang), Description: pick(o.Description, p.Lang)}
	for i, ph := range o.Phases {
		if ph.Name == o.CurrentPhase {
			d.PhaseIndex, d.Accepts = i, ph.Accepts
		}
	}
	// Most supported first: that is what residents look for; ties by age.
	slices.SortStableFunc(subs, func(a, b projections.PublicSubmission) int { return cmp.Compare(b.Supports, a.Supports) })
	for _, s := range subs {
		row := submissionRow{PublicSubmission: s}
		if s.Content != nil {
			row.Title = h.open(s.Content.Title)
		}
		d.Rows = append(d.Rows, row)
	}
	p.Title, p.At, p.Data = d.T.S, v, d
	h.render(w, r, http.StatusOK, "process", p)
}

// ---- one submission ----

type submissionData struct {
	projections.PublicSubmission
	Process    text
	Goal       int // the process's support threshold (0: none)
	AuthorName opened
	Title      opened
	Body       opened
	Comments   []commentRow
	Part       *partData // the resident's forms (take_part.go)
}

type commentRow struct {
	projections.PublicComment
	Body  opened
	Depth int // replies are threaded under their parent
}

func (h *Handler) submission(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	v, err := h.resolve(r)
	if err != nil {
		h.badAsOf(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	var (
		s     projections.PublicSubmission
		o     projections.Overview
		found bool
	)
	err = h.read(r.Context(), v, func(m *projections.View) {
		v.Pos = m.Position()
		if s, found = projections.Get[*projections.Submissions](m).Public(id); found {
			o, _ = projections.Get[*projections.Processes](m).Process(s.ProcessID)
		}
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	d := submissionData{PublicSubmission: s, Process: pick(o.Title, p.Lang), AuthorName: h.open(s.AuthorName)}
	if o.ThresholdProgress != nil {
		d.Goal = o.ThresholdProgress.Threshold
	}
	if s.Content != nil {
		d.Title, d.Body = h.open(s.Content.Title), h.open(&s.Content.Body)
	}
	for _, c := range s.Comments {
		row := commentRow{PublicComment: c}
		if c.Content != nil {
			row.Body = h.open(&c.Content.Body)
		}
		d.Comments = append(d.Comments, row)
	}
	d.Comments = thread(d.Comments)
	p.At = v
	if err := h.takePart(r, p, &d); err != nil {
		h.fail(w, r, err)
		return
	}
	p.Title = d.Title.S
	if p.Title == "" {
		p.Title = h.cats[p.Lang].t("submission.untitled")
	}
	p.At, p.Data = v, d
	h.render(w, r, http.StatusOK, "submission", p)
}

// ---- the decision trail of an item ----

type trailData struct {
	ItemID   string
	Named    bool
	Entries  []projections.TrailEntry
	Title    opened
	IsPublic bool
}

func (h *Handler) trail(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	v, err := h.resolve(r)
	if err != nil {
		h.badAsOf(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	// Auditors and admins see who decided, by name; everyone else sees
	// role and pseudonym, as the public API does.
	named := p.User != nil && (p.User.Role == domain.RoleAuditor || p.User.Role == domain.RoleAdmin)
	d := trailData{ItemID: id, Named: named}
	var (
		found bool
		sub   projections.PublicSubmission
	)
	err = h.read(r.Context(), v, func(m *projections.View) {
		v.Pos = m.Position()
		if named {
			d.Entries, found = projections.Get[*projections.Trails](m).Internal(id, m.Position())
		} else {
			d.Entries, found = projections.Get[*projections.Trails](m).Public(id, m.Position())
		}
		sub, d.IsPublic = projections.Get[*projections.Submissions](m).Public(id)
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	if d.IsPublic && sub.Content != nil {
		d.Title = h.open(sub.Content.Title)
	}
	p.Title = h.cats[p.Lang].t("trail.title")
	p.At, p.Data = v, d
	h.render(w, r, http.StatusOK, "trail", p)
}

// ---- transparency report ----

type transparencyData struct {
	Report    projections.Report
	From, To  string
	Process   string
	Body      string
	Processes []processRow
	Bodies    []string
	Charts    []chart
	Automated string // the automated share as a percentage
	Overturn  string
	Median    string
	P90       string
}

func (h *Handler) transparency(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	c := h.cats[p.Lang]
	p.Title = c.t("transparency.title")
	v, err := h.resolve(r)
	if err != nil {
		h.badAsOf(w, r, err)
		return
	}
	qv := r.URL.Query()
	d := transparencyData{From: qv.Get("from"), To: qv.Get("to"), Process: qv.Get("process"), Body: qv.Get("body")}
	q := projections.ReportQuery{ProcessID: d.Process, Body: d.Body}
	// The period is whole days in Malmö's time: from the start of From to
	// the end of To. A malformed date is ignored and the field shown empty.
	if t, err := time.ParseInLocation("2006-01-02", d.From, h.loc); err == nil {
		q.From = t
	} else {
		d.From = ""
	}
	if t, err := time.ParseInLocation("2006-01-02", d.To, h.loc); err == nil {
		q.To = t.AddDate(0, 0, 1)
	} else {
		d.To = ""
	}
	err = h.read(r.Context(), v, func(m *projections.View) {
		v.Pos = m.Position()
		d.Report = projections.Get[*projections.Transparency](m).Report(q)
		for _, o := range projections.Get[*projections.Processes](m).List() {
			d.Processes = append(d.Processes, processRow{Overview: o, T: pick(o.Title, p.Lang)})
			if !slices.Contains(d.Bodies, o.OwnerBody) {
				d.Bodies = append(d.Bodies, o.OwnerBody)
			}
		}
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	slices.Sort(d.Bodies)
	rep := d.Report
	d.Automated = c.percent(rep.AutomatedShare)
	d.Overturn = c.percent(rep.AutomatedOverturnRate)
	d.Median = c.duration(rep.TimeToDecision.MedianSeconds)
	d.P90 = c.duration(rep.TimeToDecision.P90Seconds)
	d.Charts = h.reportCharts(c, rep)
	p.At, p.Data = v, d
	h.render(w, r, http.StatusOK, "transparency", p)
}

// ---- verify this ledger ----

type verifyData struct {
	Origin   string
	Size     int64
	Root     string
	Note     string
	Verifier string
	Pos      eventstore.Position
}

func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	p.Title = h.cats[p.Lang].t("verify.title")
	cp := h.cfg.Integrity.Checkpoint()
	d := verifyData{Origin: cp.Origin, Size: cp.Size, Root: cp.Root.String(), Note: string(cp.Note),
		Verifier: h.cfg.Integrity.Verifier()}
	p.At = view{Latest: true, Pos: eventstore.Position(cp.Size)}
	p.Data = d
	h.render(w, r, http.StatusOK, "verify", p)
}

// ---- the auditor's as-of view ----

type auditData struct {
	Asked      bool
	Processes  []processRow
	Checkpoint verifyData
}

func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	p.Title = h.cats[p.Lang].t("audit.title")
	v, err := h.resolve(r)
	if err != nil {
		h.badAsOf(w, r, err)
		return
	}
	cp := h.cfg.Integrity.Checkpoint()
	d := auditData{Asked: !v.Latest, Checkpoint: verifyData{Origin: cp.Origin, Size: cp.Size, Root: cp.Root.String()}}
	err = h.read(r.Context(), v, func(m *projections.View) {
		v.Pos = m.Position()
		for _, o := range projections.Get[*projections.Processes](m).List() {
			d.Processes = append(d.Processes, processRow{Overview: o, T: pick(o.Title, p.Lang)})
		}
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.At, p.Data = v, d
	h.render(w, r, http.StatusOK, "audit", p)
}

// badAsOf answers a malformed as_of with the audit page and an error
// message (400), or a 500 for a store failure.
func (h *Handler) badAsOf(w http.ResponseWriter, r *http.Request, err error) {
	if err != errBadAsOf {
		h.fail(w, r, err)
		return
	}
	p := h.newPage(w, r, "")
	p.Title = h.cats[p.Lang].t("audit.title")
	p.Error = h.cats[p.Lang].t("audit.bad")
	p.At = view{Latest: true}
	p.Data = auditData{}
	h.render(w, r, http.StatusBadRequest, "audit", p)
}
