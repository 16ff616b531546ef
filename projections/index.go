package projections

import (
	"encoding/json"
	"slices"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Model names: file names of checkpoints, the "models" of live
// notifications, what replay takes. Permanent once released.
const (
	NameIndex         = "index"
	NameProcesses     = "processes"
	NameSubmissions   = "submissions"
	NameTrails        = "trails"
	NameQueue         = "queue"
	NameTransparency  = "transparency"
	NameParticipation = "participation"
	NameActors        = "actors"
)

// Index maps items to their process and processes to their owner body.
// Events about an item (a flag, a decision) do not name its process; the
// runner uses the index to say which process a change concerns.
type Index struct {
	st indexState
}

type indexState struct {
	Items     map[string]itemRef `json:"items"`     // item id → kind and process
	Processes map[string]string  `json:"processes"` // process id → owner body
}

type itemRef struct {
	Kind    domain.ItemKind `json:"kind"`
	Process string          `json:"process"`
}

// NewIndex returns an empty index.
func NewIndex() *Index { x := &Index{}; x.Reset(); return x }

// Name implements Model.
func (*Index) Name() string { return NameIndex }

// Reset implements Model.
func (x *Index) Reset() {
	x.st = indexState{Items: map[string]itemRef{}, Processes: map[string]string{}}
}

// MarshalJSON implements Model.
func (x *Index) MarshalJSON() ([]byte, error) { return json.Marshal(x.st) }

// UnmarshalJSON implements Model.
func (x *Index) UnmarshalJSON(b []byte) error {
	x.Reset()
	return json.Unmarshal(b, &x.st)
}

// Apply implements Model.
func (x *Index) Apply(_ eventstore.Event, de domain.Event) {
	switch e := de.(type) {
	case *domain.ProcessOpened:
		x.st.Processes[e.ProcessID] = e.OwnerBody
	case *domain.SubmissionReceived:
		x.st.Items[e.SubmissionID] = itemRef{Kind: domain.ItemSubmission, Process: e.ProcessID}
	case *domain.CommentPosted:
		x.st.Items[e.CommentID] = itemRef{Kind: domain.ItemComment, Process: e.ProcessID}
	case *domain.StatementPosted:
		x.st.Items[e.StatementID] = itemRef{Kind: domain.ItemStatement, Process: e.ProcessID}
	}
}

// locate returns the process and item an event concerns.
func (x *Index) locate(de domain.Event) (process, item string, kind domain.ItemKind) {
	item, kind = itemOf(de)
	if item != "" {
		return x.st.Items[item].Process, item, kind
	}
	return processOf(de), "", ""
}

// itemOf returns the moderated item (submission or comment) an event is
// about, if any.
func itemOf(de domain.Event) (string, domain.ItemKind) {
	switch e := de.(type) {
	case *domain.SubmissionReceived:
		return e.SubmissionID, domain.ItemSubmission
	case *domain.SubmissionRevised:
		return e.SubmissionID, domain.ItemSubmission
	case *domain.CommentPosted:
		return e.CommentID, domain.ItemComment
	case *domain.StatementPosted:
		return e.StatementID, domain.ItemStatement
	case *domain.SupportGiven:
		return e.SubmissionID, domain.ItemSubmission
	case *domain.SupportWithdrawn:
		return e.SubmissionID, domain.ItemSubmission
	case *domain.SupportThresholdReached:
		return e.SubmissionID, domain.ItemSubmission
	case *domain.ContentFlagged:
		return e.ItemID, e.ItemKind
	case *domain.ModerationDecided:
		return e.ItemID, e.ItemKind
	case *domain.AuthorNotified:
		return e.ItemID, e.ItemKind
	case *domain.AppealFiled:
		return e.ItemID, e.ItemKind
	case *domain.AppealDecided:
		return e.ItemID, e.ItemKind
	case *domain.SubmissionForwarded:
		return e.SubmissionID, domain.ItemSubmission
	case *domain.OfficialResponsePublished:
		return e.SubmissionID, domain.ItemSubmission
	case *domain.DisposalDecided:
		switch e.Scope {
		case domain.ScopeSubmission:
			return e.SubjectID, domain.ItemSubmission
		case domain.ScopeComment:
			return e.SubjectID, domain.ItemComment
		}
	}
	return "", ""
}

// processOf returns the process named by a process-level event.
func processOf(de domain.Event) string {
	switch e := de.(type) {
	case *domain.ProcessOpened:
		return e.ProcessID
	case *domain.ProcessPhaseChanged:
		return e.ProcessID
	case *domain.ProcessClosed:
		return e.ProcessID
	case *domain.SurveyPublished:
		return e.ProcessID
	case *domain.SurveyAnswered:
		return e.ProcessID
	case *domain.VoteCast:
		return e.ProcessID
	case *domain.ImportStarted:
		return e.ProcessID
	case *domain.ImportCompleted:
		return e.ProcessID
	case *domain.DisposalDecided:
		if e.Scope == domain.ScopeProcess {
			return e.SubjectID
		}
	}
	return ""
}

// describe turns an event the hub no longer holds into its Change, as
// it reads it again from the store: decoded again, located by the index
// as it is now.
func (r *Runner) describe(ev eventstore.Event) Change {
	de := decode(ev)
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.changeLocked(ev, de)
}

// changeLocked describes an applied event; the caller holds r.mu.
func (r *Runner) changeLocked(ev eventstore.Event, de domain.Event) Change {
	c := Change{Event: ev, Decoded: de}
	c.ProcessID, c.ItemID, c.ItemKind = r.index.locate(de)
	c.Models = r.changes[ev.Type]
	if ev.Metadata.Actor != "" && len(r.byActor) > 0 {
		c.Models = append(slices.Clip(c.Models), r.byActor...)
	}
	return c
}
