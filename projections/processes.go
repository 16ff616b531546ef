package projections

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Processes is the process overview: each process with its phases, status,
// counts of contributions by moderation status and progress towards the
// support threshold.
type Processes struct {
	st processesState
}

type processesState struct {
	Processes map[string]*process  `json:"processes"`
	Items     map[string]*procItem `json:"items"` // submissions and comments
}

type process struct {
	Opened        domain.ProcessOpened `json:"opened"`
	OpenedAt      time.Time            `json:"opened_at"`
	Position      eventstore.Position  `json:"position"`
	Phase         string               `json:"phase"`
	Closed        *closure             `json:"closed,omitempty"`
	Surveys       []string             `json:"surveys"`
	SurveyAnswers int                  `json:"survey_answers"`
	Supports      int                  `json:"supports"`
}

type closure struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

type procItem struct {
	item
	Supports  int  `json:"supports,omitempty"`
	Reached   bool `json:"reached,omitempty"`
	Forwarded bool `json:"forwarded,omitempty"`
	Answered  bool `json:"answered,omitempty"`
}

// NewProcesses returns an empty process overview.
func NewProcesses() *Processes { p := &Processes{}; p.Reset(); return p }

// Name implements Model.
func (*Processes) Name() string { return NameProcesses }

// Reset implements Model.
func (p *Processes) Reset() {
	p.st = processesState{Processes: map[string]*process{}, Items: map[string]*procItem{}}
}

// MarshalJSON implements Model.
func (p *Processes) MarshalJSON() ([]byte, error) { return json.Marshal(p.st) }

// UnmarshalJSON implements Model.
func (p *Processes) UnmarshalJSON(b []byte) error {
	p.Reset()
	return json.Unmarshal(b, &p.st)
}

// Apply implements Model.
func (p *Processes) Apply(ev eventstore.Event, de domain.Event) {
	switch e := de.(type) {
	case *domain.ProcessOpened:
		pr := &process{Opened: *e, OpenedAt: ev.Metadata.OccurredAt, Position: ev.Position}
		if len(e.Phases) > 0 {
			pr.Phase = e.Phases[0].Name
		}
		p.st.Processes[e.ProcessID] = pr
	case *domain.ProcessPhaseChanged:
		if pr := p.st.Processes[e.ProcessID]; pr != nil {
			pr.Phase = e.To
		}
	case *domain.ProcessClosed:
		if pr := p.st.Processes[e.ProcessID]; pr != nil {
			pr.Closed = &closure{Reason: e.Reason, At: ev.Metadata.OccurredAt}
		}
	case *domain.SurveyPublished:
		if pr := p.st.Processes[e.ProcessID]; pr != nil {
			pr.Surveys = append(pr.Surveys, e.SurveyID)
		}
	case *domain.SurveyAnswered:
		if pr := p.st.Processes[e.ProcessID]; pr != nil {
			pr.SurveyAnswers++
		}
	case *domain.SubmissionReceived:
		it := &procItem{item: item{ID: e.SubmissionID, Kind: domain.ItemSubmission, Process: e.ProcessID}}
		it.addVersion(ev, 1, nil, nil, e.Premoderated)
		p.st.Items[e.SubmissionID] = it
	case *domain.CommentPosted:
		it := &procItem{item: item{ID: e.CommentID, Kind: domain.ItemComment, Process: e.ProcessID}}
		it.addVersion(ev, 1, nil, nil, e.Premoderated)
		p.st.Items[e.CommentID] = it
	case *domain.SubmissionRevised:
		// Content stays out of this model; only the moderation state of
		// the new version matters for the counts.
		if it := p.st.Items[e.SubmissionID]; it != nil {
			it.addVersion(ev, e.Version, nil, nil, e.Premoderated)
		}
	case *domain.SupportGiven:
		p.support(e.SubmissionID, e.ProcessID, +1)
	case *domain.SupportWithdrawn:
		p.support(e.SubmissionID, e.ProcessID, -1)
	case *domain.SupportThresholdReached:
		if it := p.st.Items[e.SubmissionID]; it != nil {
			it.Reached = true
		}
	case *domain.SubmissionForwarded:
		if it := p.st.Items[e.SubmissionID]; it != nil {
			it.Forwarded = true
		}
	case *domain.OfficialResponsePublished:
		if it := p.st.Items[e.SubmissionID]; it != nil {
			it.Answered = true
		}
	case *domain.ModerationDecided, *domain.AppealDecided:
		if id, _ := itemOf(de); p.st.Items[id] != nil {
			p.st.Items[id].apply(ev, de)
		}
	}
}

func (p *Processes) support(item, process string, d int) {
	if it := p.st.Items[item]; it != nil {
		it.Supports += d
	}
	if pr := p.st.Processes[process]; pr != nil {
		pr.Supports += d
	}
}

// Overview is a process as the public sees it.
type Overview struct {
	ID                string                `json:"id"`
	Title             domain.Text           `json:"title"`
	Description       domain.Text           `json:"description"`
	Kind              domain.ProcessKind    `json:"kind"`
	OwnerBody         string                `json:"owner_body"`
	CaseNumber        string                `json:"case_number"`
	Administrations   []string              `json:"administrations"`
	Phases            []domain.Phase        `json:"phases"`
	CurrentPhase      string                `json:"current_phase"`
	Status            string                `json:"status"` // "open" or "closed"
	ClosedReason      string                `json:"closed_reason,omitempty"`
	ModerationMode    domain.ModerationMode `json:"moderation_mode"`
	PolicyReference   string                `json:"policy_reference"`
	OpenedAt          time.Time             `json:"opened_at"`
	Submissions       Counts                `json:"submissions"`
	Comments          Counts                `json:"comments"`
	Supports          int                   `json:"supports"`
	SurveyAnswers     int                   `json:"survey_answers"`
	Forwarded         int                   `json:"forwarded"`
	Answered          int                   `json:"answered"`
	ThresholdProgress *ThresholdProgress    `json:"threshold_progress,omitempty"`
}

// Counts counts items by moderation status. Pending and rejected items are
// counted though not shown, so the public sees that they exist.
type Counts struct {
	Total      int `json:"total"`
	Published  int `json:"published"`
	Restricted int `json:"restricted"`
	Hidden     int `json:"hidden"`
	Pending    int `json:"pending"`
	Rejected   int `json:"rejected"`
}

func (c *Counts) add(status string) {
	c.Total++
	switch status {
	case StatusPublished:
		c.Published++
	case StatusRestricted:
		c.Restricted++
	case StatusHidden:
		c.Hidden++
	case StatusPending:
		c.Pending++
	case StatusRejected:
		c.Rejected++
	}
}

// ThresholdProgress says how close the process's submissions are to the
// support threshold.
type ThresholdProgress struct {
	Threshold  int `json:"threshold"`
	Reached    int `json:"reached"`     // submissions that crossed it
	MaxSupport int `json:"max_support"` // the best-supported public submission's count
}

// Process returns the overview of one process.
func (p *Processes) Process(id string) (Overview, bool) {
	pr := p.st.Processes[id]
	if pr == nil {
		return Overview{}, false
	}
	o := p.overview(pr)
	for _, it := range p.st.Items {
		if it.Process != id {
			continue
		}
		st := it.Status()
		if it.Kind == domain.ItemComment {
			o.Comments.add(st)
			continue
		}
		o.Submissions.add(st)
		if it.Forwarded {
			o.Forwarded++
		}
		if it.Answered {
			o.Answered++
		}
		if tp := o.ThresholdProgress; tp != nil {
			if it.Reached {
				tp.Reached++
			}
			if it.Public() && it.Supports > tp.MaxSupport {
				tp.MaxSupport = it.Supports
			}
		}
	}
	return o, true
}

func (p *Processes) overview(pr *process) Overview {
	e := pr.Opened
	o := Overview{ID: e.ProcessID, Title: e.Title, Description: e.Description, Kind: e.Kind, OwnerBody: e.OwnerBody,
		CaseNumber: e.CaseNumber, Administrations: e.Administrations, Phases: e.Phases, CurrentPhase: pr.Phase,
		Status: "open", ModerationMode: e.ModerationMode, PolicyReference: e.PolicyReference, OpenedAt: pr.OpenedAt,
		Supports: pr.Supports, SurveyAnswers: pr.SurveyAnswers}
	if pr.Closed != nil {
		o.Status, o.ClosedReason = "closed", pr.Closed.Reason
	}
	if e.SupportThreshold > 0 {
		o.ThresholdProgress = &ThresholdProgress{Threshold: e.SupportThreshold}
	}
	return o
}

// List returns every process's overview, in the order they were opened.
func (p *Processes) List() []Overview {
	prs := make([]*process, 0, len(p.st.Processes))
	for _, pr := range p.st.Processes {
		prs = append(prs, pr)
	}
	slices.SortFunc(prs, func(a, b *process) int { return cmp.Compare(a.Position, b.Position) })
	out := make([]Overview, 0, len(prs))
	for _, pr := range prs {
		o, _ := p.Process(pr.Opened.ProcessID)
		out = append(out, o)
	}
	return out
}
