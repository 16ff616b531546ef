package projections

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Transparency holds what the transparency report counts: notices,
// decisions and appeals with their times, process and owner body. Reports
// are computed from it per period and scope on request.
//
// Times are occurred-at (when the notice came in, when the decision was
// taken), so imported history reports correctly; the definitions are in
// Report's field comments, so anyone can recompute a report from an export.
type Transparency struct {
	st transparencyState
	// Lookups by id into st's lists (not serialized; rebuilt on load), so
	// that deciding an appeal does not scan every appeal and decision: a
	// scan made a rebuild of a million events quadratic. Ids may repeat.
	appealsByID   map[string][]*appealRec
	decisionsByID map[string][]*decisionRec
}

type transparencyState struct {
	Bodies    map[string]string     `json:"bodies"` // process → owner body
	Items     map[string]string     `json:"items"`  // item → process
	Notices   map[string]*noticeRec `json:"notices"`
	Decisions []*decisionRec        `json:"decisions"`
	Appeals   []*appealRec          `json:"appeals"`
}

type noticeRec struct {
	Process  string            `json:"process"`
	Source   domain.FlagSource `json:"source"`
	Category domain.Category   `json:"category"`
	At       time.Time         `json:"at"`
}

type decisionRec struct {
	ID                 string                   `json:"id"`
	Process            string                   `json:"process"`
	At                 time.Time                `json:"at"`
	Visibility         domain.Visibility        `json:"visibility"`
	Ground             domain.Ground            `json:"ground"`
	Category           domain.Category          `json:"category"`
	Source             domain.DecisionSource    `json:"source"`
	AutomatedDetection bool                     `json:"automated_detection"`
	AutomatedDecision  domain.AutomatedDecision `json:"automated_decision"`
	FirstNoticeAt      *time.Time               `json:"first_notice_at,omitempty"`
	Overturned         bool                     `json:"overturned"`
}

type appealRec struct {
	ID        string     `json:"id"`
	Decision  string     `json:"decision"`
	Process   string     `json:"process"`
	FiledAt   time.Time  `json:"filed_at"`
	Outcome   string     `json:"outcome,omitempty"`
	DecidedAt *time.Time `json:"decided_at,omitempty"`
}

// NewTransparency returns an empty transparency model.
func NewTransparency() *Transparency { t := &Transparency{}; t.Reset(); return t }

// Name implements Model.
func (*Transparency) Name() string { return NameTransparency }

// Reset implements Model.
func (t *Transparency) Reset() {
	t.st = transparencyState{Bodies: map[string]string{}, Items: map[string]string{}, Notices: map[string]*noticeRec{}}
	t.appealsByID, t.decisionsByID = map[string][]*appealRec{}, map[string][]*decisionRec{}
}

// MarshalJSON implements Model.
func (t *Transparency) MarshalJSON() ([]byte, error) { return json.Marshal(t.st) }

// UnmarshalJSON implements Model.
func (t *Transparency) UnmarshalJSON(b []byte) error {
	t.Reset()
	if err := json.Unmarshal(b, &t.st); err != nil {
		return err
	}
	for _, a := range t.st.Appeals {
		t.appealsByID[a.ID] = append(t.appealsByID[a.ID], a)
	}
	for _, d := range t.st.Decisions {
		t.decisionsByID[d.ID] = append(t.decisionsByID[d.ID], d)
	}
	return nil
}

// Apply implements Model.
func (t *Transparency) Apply(ev eventstore.Event, de domain.Event) {
	at := ev.Metadata.OccurredAt
	switch e := de.(type) {
	case *domain.ProcessOpened:
		t.st.Bodies[e.ProcessID] = e.OwnerBody
	case *domain.SubmissionReceived:
		t.st.Items[e.SubmissionID] = e.ProcessID
	case *domain.CommentPosted:
		t.st.Items[e.CommentID] = e.ProcessID
	case *domain.ContentFlagged:
		t.st.Notices[e.FlagID] = &noticeRec{Process: t.st.Items[e.ItemID], Source: e.Source, Category: e.Category, At: at}
	case *domain.ModerationDecided:
		d := &decisionRec{ID: e.DecisionID, Process: t.st.Items[e.ItemID], At: at, Visibility: e.Visibility,
			Ground: e.Ground, Category: e.Category, Source: e.Source, AutomatedDetection: e.AutomatedDetection,
			AutomatedDecision: e.AutomatedDecision}
		for _, id := range e.FlagIDs {
			if n := t.st.Notices[id]; n != nil && (d.FirstNoticeAt == nil || n.At.Before(*d.FirstNoticeAt)) {
				first := n.At
				d.FirstNoticeAt = &first
			}
		}
		t.st.Decisions = append(t.st.Decisions, d)
		t.decisionsByID[d.ID] = append(t.decisionsByID[d.ID], d)
	case *domain.AppealFiled:
		a := &appealRec{ID: e.AppealID, Decision: e.DecisionID, Process: t.st.Items[e.ItemID], FiledAt: at}
		t.st.Appeals = append(t.st.Appeals, a)
		t.appealsByID[a.ID] = append(t.appealsByID[a.ID], a)
	case *domain.AppealDecided:
		for _, a := range t.appealsByID[e.AppealID] {
			a.Outcome, a.DecidedAt = e.Outcome, &at
		}
		if e.Outcome == domain.AppealOverturned {
			for _, d := range t.decisionsByID[e.DecisionID] {
				d.Overturned = true
			}
		}
	}
}

// ReportQuery selects a period [From, To) and optionally one process or
// one owner body. Zero times leave the period open on that side.
type ReportQuery struct {
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	ProcessID string    `json:"process_id,omitempty"`
	Body      string    `json:"body,omitempty"`
}

// Report is the transparency report, shaped after the DSA's transparency
// reporting (art. 15 and 24). Every count is over events whose occurred-at
// lies in the period and whose item belongs to the selected process/body.
type Report struct {
	Query ReportQuery `json:"query"`
	// Notices are ContentFlagged events, by source (participant, staff,
	// automated).
	Notices         int            `json:"notices"`
	NoticesBySource map[string]int `json:"notices_by_source"`
	// Decisions are ModerationDecided events; Restrictions those whose
	// visibility restricts the content (the DSA statements of reasons).
	Decisions    int            `json:"decisions"`
	Restrictions int            `json:"restrictions"`
	ByVisibility map[string]int `json:"decisions_by_visibility"`
	ByGround     map[string]int `json:"decisions_by_ground"`   // restrictions only
	ByCategory   map[string]int `json:"decisions_by_category"` // restrictions only, current categories (domain.Category.Current)
	BySource     map[string]int `json:"decisions_by_source"`
	// Automated counts decisions taken fully or partially by automated
	// means; AutomatedShare is Automated / Decisions (0 without decisions).
	Automated          int     `json:"automated_decisions"`
	AutomatedShare     float64 `json:"automated_share"`
	AutomatedDetection int     `json:"automated_detection"`
	// TimeToDecision is over decisions naming at least one known notice:
	// decision time minus the earliest named notice's time.
	TimeToDecision Durations `json:"time_from_notice_to_decision"`
	// Appeals filed in the period, and of those, how they were decided
	// (as of the report's position); Pending are not decided yet.
	AppealsFiled      int `json:"appeals_filed"`
	AppealsUpheld     int `json:"appeals_upheld"`
	AppealsOverturned int `json:"appeals_overturned"`
	AppealsPending    int `json:"appeals_pending"`
	// AutomatedOverturnRate is, of the automated decisions in the period,
	// the share an appeal has overturned (0 without automated decisions).
	AutomatedOverturned   int     `json:"automated_overturned"`
	AutomatedOverturnRate float64 `json:"automated_overturn_rate"`
}

// Durations summarises durations in seconds. Median and P90 are
// nearest-rank percentiles: the value at rank ceil(p·n) in ascending
// order, so they are always observed values.
type Durations struct {
	Count         int     `json:"count"`
	MedianSeconds float64 `json:"median_seconds"`
	P90Seconds    float64 `json:"p90_seconds"`
}

func nearestRank(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	r := int(math.Ceil(p * float64(len(sorted))))
	return sorted[max(r, 1)-1]
}

func (q ReportQuery) inScope(t *Transparency, process string, at time.Time) bool {
	if !q.From.IsZero() && at.Before(q.From) || !q.To.IsZero() && !at.Before(q.To) {
		return false
	}
	if q.ProcessID != "" && process != q.ProcessID {
		return false
	}
	return q.Body == "" || t.st.Bodies[process] == q.Body
}

// Report computes the report for q.
func (t *Transparency) Report(q ReportQuery) Report {
	r := Report{Query: q, NoticesBySource: map[string]int{}, ByVisibility: map[string]int{},
		ByGround: map[string]int{}, ByCategory: map[string]int{}, BySource: map[string]int{}}
	for _, n := range t.st.Notices {
		if q.inScope(t, n.Process, n.At) {
			r.Notices++
			r.NoticesBySource[string(n.Source)]++
		}
	}
	var durs []float64
	for _, d := range t.st.Decisions {
		if !q.inScope(t, d.Process, d.At) {
			continue
		}
		r.Decisions++
		r.ByVisibility[string(d.Visibility)]++
		r.BySource[string(d.Source)]++
		if d.Visibility.Restricts() {
			r.Restrictions++
			r.ByGround[string(d.Ground)]++
			r.ByCategory[string(d.Category.Current())]++ // state kept from before the upcaster may hold a retired value
		}
		if d.AutomatedDetection {
			r.AutomatedDetection++
		}
		if d.AutomatedDecision == domain.AutomatedFully || d.AutomatedDecision == domain.AutomatedPartially {
			r.Automated++
			if d.Overturned {
				r.AutomatedOverturned++
			}
		}
		if d.FirstNoticeAt != nil {
			durs = append(durs, d.At.Sub(*d.FirstNoticeAt).Seconds())
		}
	}
	if r.Decisions > 0 {
		r.AutomatedShare = float64(r.Automated) / float64(r.Decisions)
	}
	if r.Automated > 0 {
		r.AutomatedOverturnRate = float64(r.AutomatedOverturned) / float64(r.Automated)
	}
	slices.Sort(durs)
	r.TimeToDecision = Durations{Count: len(durs), MedianSeconds: nearestRank(durs, 0.5), P90Seconds: nearestRank(durs, 0.9)}
	for _, a := range t.st.Appeals {
		if !q.inScope(t, a.Process, a.FiledAt) {
			continue
		}
		r.AppealsFiled++
		switch a.Outcome {
		case domain.AppealUpheld:
			r.AppealsUpheld++
		case domain.AppealOverturned:
			r.AppealsOverturned++
		default:
			r.AppealsPending++
		}
	}
	return r
}

// JSON renders the report as indented JSON (map keys sorted).
func (r Report) JSON() ([]byte, error) { return json.MarshalIndent(r, "", "  ") }

// CSV renders the report as rows of metric,key,value (key empty for
// scalars), in a fixed order, for spreadsheets and R/pandas.
func (r Report) CSV() ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	row := func(metric, key, value string) { _ = w.Write([]string{metric, key, value}) }
	num := func(v int) string { return strconv.Itoa(v) }
	flt := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	tm := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	table := func(metric string, m map[string]int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			row(metric, k, num(m[k]))
		}
	}
	row("metric", "key", "value")
	row("period_from", "", tm(r.Query.From))
	row("period_to", "", tm(r.Query.To))
	row("process_id", "", r.Query.ProcessID)
	row("body", "", r.Query.Body)
	row("notices", "", num(r.Notices))
	table("notices_by_source", r.NoticesBySource)
	row("decisions", "", num(r.Decisions))
	row("restrictions", "", num(r.Restrictions))
	table("decisions_by_visibility", r.ByVisibility)
	table("decisions_by_ground", r.ByGround)
	table("decisions_by_category", r.ByCategory)
	table("decisions_by_source", r.BySource)
	row("automated_decisions", "", num(r.Automated))
	row("automated_share", "", flt(r.AutomatedShare))
	row("automated_detection", "", num(r.AutomatedDetection))
	row("time_from_notice_to_decision_count", "", num(r.TimeToDecision.Count))
	row("time_from_notice_to_decision_median_seconds", "", flt(r.TimeToDecision.MedianSeconds))
	row("time_from_notice_to_decision_p90_seconds", "", flt(r.TimeToDecision.P90Seconds))
	row("appeals_filed", "", num(r.AppealsFiled))
	row("appeals_upheld", "", num(r.AppealsUpheld))
	row("appeals_overturned", "", num(r.AppealsOverturned))
	row("appeals_pending", "", num(r.AppealsPending))
	row("automated_overturned", "", num(r.AutomatedOverturned))
	row("automated_overturn_rate", "", flt(r.AutomatedOverturnRate))
	w.Flush()
	return b.Bytes(), w.Error()
}
