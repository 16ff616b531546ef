package projections

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// NameResults is the elected bodies' feedback per process.
const NameResults = "results"

// Results holds the feedback elected bodies recorded on each process; what
// became of each proposal is composed from it and the other models by
// ResultsOf.
type Results struct {
	st resultsState
}

type resultsState struct {
	Feedback map[string][]Feedback `json:"feedback"` // by process, in log order
}

// Feedback is one recorded decision of an elected body on a process.
type Feedback struct {
	ID         string              `json:"id"`
	Summary    string              `json:"summary"`
	Body       string              `json:"body"`
	Paragraph  string              `json:"paragraph"`
	DecidedOn  string              `json:"decided_on"`
	Outcome    string              `json:"outcome"`
	Progress   int                 `json:"progress"`
	Answers    []string            `json:"answers"`
	RecordedAt time.Time           `json:"recorded_at"`
	Position   eventstore.Position `json:"position"`
}

// NewResults returns an empty model.
func NewResults() *Results { r := &Results{}; r.Reset(); return r }

// Name implements Model.
func (*Results) Name() string { return NameResults }

// Reset implements Model.
func (r *Results) Reset() { r.st = resultsState{Feedback: map[string][]Feedback{}} }

// MarshalJSON implements Model.
func (r *Results) MarshalJSON() ([]byte, error) { return json.Marshal(r.st) }

// UnmarshalJSON implements Model.
func (r *Results) UnmarshalJSON(b []byte) error {
	r.Reset()
	return json.Unmarshal(b, &r.st)
}

// Apply implements Model.
func (r *Results) Apply(ev eventstore.Event, de domain.Event) {
	if e, ok := de.(*domain.FeedbackRecorded); ok {
		r.st.Feedback[e.ProcessID] = append(r.st.Feedback[e.ProcessID], Feedback{ID: e.FeedbackID, Summary: e.Summary,
			Body: e.Body, Paragraph: e.Paragraph, DecidedOn: e.DecidedOn, Outcome: e.Outcome, Progress: e.Progress,
			Answers: slices.Clone(e.Answers), RecordedAt: ev.Metadata.OccurredAt, Position: ev.Position})
	}
}

// Of returns a process's feedback, in the order recorded.
func (r *Results) Of(processID string) []Feedback { return slices.Clone(r.st.Feedback[processID]) }

func auditResults(m Model, item string, _ Opener) (any, error) {
	r := m.(*Results)
	if item != "" {
		return r.Of(item), nil
	}
	return r.st.Feedback, nil
}

// Stages of a proposal's path, in order.
const (
	StageReceived  = "received"
	StageSupported = "supported" // reached the support threshold
	StageForwarded = "forwarded"
	StageAnswered  = "answered"
	StageDecided   = "decided" // an elected body's feedback answers it
)

// ProcessResults is what became of a process's input: each public
// proposal's path, the elected bodies' feedback, and the process's
// participation and moderation figures.
type ProcessResults struct {
	Process    Overview          `json:"process"`
	Proposals  []ProposalResult  `json:"proposals"`
	Feedback   []Feedback        `json:"feedback"`
	Moderation ModerationFigures `json:"moderation"`
}

// ModerationFigures are the transparency figures of one process.
type ModerationFigures struct {
	Notices           int `json:"notices"`
	Decisions         int `json:"decisions"`
	Restrictions      int `json:"restrictions"`
	AppealsFiled      int `json:"appeals_filed"`
	AppealsOverturned int `json:"appeals_overturned"`
}

// ProposalResult is one proposal's path.
type ProposalResult struct {
	ID         string           `json:"id"`
	Title      *domain.Personal `json:"title,omitempty"` // sealed; nil when hidden
	Stage      string           `json:"stage"`
	ReceivedAt time.Time        `json:"received_at"`
	Supports   int              `json:"supports"`
	Threshold  *Threshold       `json:"threshold_reached,omitempty"`
	Forwards   []Forward        `json:"forwards"`
	Response   *Response        `json:"response,omitempty"`
	// Outcome and Progress come from the latest feedback answering the
	// proposal, else from the official response ("" when it decided
	// nothing); Decision names where it was decided.
	Outcome  string   `json:"outcome,omitempty"`
	Progress int      `json:"progress"`
	Decision string   `json:"decision,omitempty"`
	Feedback []string `json:"feedback"` // ids of the feedback answering it
}

// responseOutcome maps an official response's outcome onto the feedback
// outcomes; a plain answer decides nothing.
var responseOutcome = map[string]string{domain.OutcomeApproved: domain.FeedbackAccepted,
	domain.OutcomePartiallyApproved: domain.FeedbackPartly, domain.OutcomeRejected: domain.FeedbackRejected}

// ResultsOf composes a process's results from the view's models.
func ResultsOf(v *View, processID string) (ProcessResults, bool) {
	o, ok := Get[*Processes](v).Process(processID)
	if !ok {
		return ProcessResults{}, false
	}
	res := ProcessResults{Process: o, Feedback: Get[*Results](v).Of(processID), Proposals: []ProposalResult{}}
	if res.Feedback == nil {
		res.Feedback = []Feedback{}
	}
	rep := Get[*Transparency](v).Report(ReportQuery{ProcessID: processID})
	res.Moderation = ModerationFigures{Notices: rep.Notices, Decisions: rep.Decisions, Restrictions: rep.Restrictions,
		AppealsFiled: rep.AppealsFiled, AppealsOverturned: rep.AppealsOverturned}
	for _, s := range Get[*Submissions](v).PublicList(processID) {
		p := ProposalResult{ID: s.ID, Stage: StageReceived, ReceivedAt: s.ReceivedAt, Supports: s.Supports,
			Threshold: s.Threshold, Forwards: s.Forwards, Response: s.Response, Feedback: []string{}}
		if s.Content != nil {
			p.Title = s.Content.Title
		}
		if p.Forwards == nil {
			p.Forwards = []Forward{}
		}
		switch {
		case s.Threshold != nil:
			p.Stage = StageSupported
		}
		if len(s.Forwards) > 0 {
			p.Stage = StageForwarded
		}
		if s.Response != nil {
			p.Stage = StageAnswered
			p.Outcome = responseOutcome[s.Response.Outcome]
			p.Decision = s.Response.DecisionReference
		}
		for _, f := range res.Feedback {
			if slices.Contains(f.Answers, s.ID) {
				p.Stage, p.Outcome, p.Progress = StageDecided, f.Outcome, f.Progress
				p.Decision = strings.Join([]string{f.Body, f.Paragraph, f.DecidedOn}, " ")
				p.Feedback = append(p.Feedback, f.ID)
			}
		}
		res.Proposals = append(res.Proposals, p)
	}
	return res, true
}

// CSV renders one row per proposal; titles are left out (they are sealed
// personal data: the JSON answer opens them).
func (r ProcessResults) CSV() ([]byte, error) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"process_id", "proposal_id", "stage", "received_at", "supports", "threshold_reached_at",
		"forwarded_to", "answered_at", "response_outcome", "decision", "outcome", "progress", "feedback_ids"})
	for _, p := range r.Proposals {
		var reached, answered, respOutcome string
		if p.Threshold != nil {
			reached = p.Threshold.At.UTC().Format(time.RFC3339)
		}
		if p.Response != nil {
			answered, respOutcome = p.Response.PublishedAt.UTC().Format(time.RFC3339), p.Response.Outcome
		}
		var to []string
		for _, f := range p.Forwards {
			to = append(to, f.To)
		}
		w.Write([]string{r.Process.ID, p.ID, p.Stage, p.ReceivedAt.UTC().Format(time.RFC3339), strconv.Itoa(p.Supports), reached,
			strings.Join(to, "; "), answered, respOutcome, p.Decision, p.Outcome, strconv.Itoa(p.Progress), strings.Join(p.Feedback, " ")})
	}
	w.Flush()
	return b.Bytes(), w.Error()
}
