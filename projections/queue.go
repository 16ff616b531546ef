package projections

import (
	"cmp"
	"encoding/json"
	"slices"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Queue is the moderation queue: items waiting for pre-moderation, items
// with notices no decision has answered, and appeals not yet decided.
type Queue struct {
	st map[string]*item
}

// NewQueue returns an empty queue.
func NewQueue() *Queue { q := &Queue{}; q.Reset(); return q }

// Name implements Model.
func (*Queue) Name() string { return NameQueue }

// Reset implements Model.
func (q *Queue) Reset() { q.st = map[string]*item{} }

// MarshalJSON implements Model.
func (q *Queue) MarshalJSON() ([]byte, error) { return json.Marshal(q.st) }

// UnmarshalJSON implements Model.
func (q *Queue) UnmarshalJSON(b []byte) error {
	q.Reset()
	return json.Unmarshal(b, &q.st)
}

// Apply implements Model.
func (q *Queue) Apply(ev eventstore.Event, de domain.Event) {
	switch e := de.(type) {
	case *domain.SubmissionReceived:
		it := &item{ID: e.SubmissionID, Kind: domain.ItemSubmission, Process: e.ProcessID}
		it.addVersion(ev, 1, nil, nil, e.Premoderated)
		q.st[e.SubmissionID] = it
	case *domain.CommentPosted:
		it := &item{ID: e.CommentID, Kind: domain.ItemComment, Process: e.ProcessID}
		it.addVersion(ev, 1, nil, nil, e.Premoderated)
		q.st[e.CommentID] = it
	case *domain.StatementPosted:
		it := &item{ID: e.StatementID, Kind: domain.ItemStatement, Process: e.ProcessID}
		it.addVersion(ev, 1, nil, nil, e.Premoderated)
		q.st[e.StatementID] = it
	case *domain.SubmissionRevised, *domain.ContentFlagged, *domain.ModerationDecided,
		*domain.AppealFiled, *domain.AppealDecided:
		if id, _ := itemOf(de); q.st[id] != nil {
			q.st[id].apply(ev, de)
		}
	}
}

// Queue entry reasons.
const (
	ReasonPremoderation = "premoderation"
	ReasonFlagged       = "flagged"
	ReasonAppeal        = "appeal"
)

// QueueEntry is one task for a moderator. Since is when the oldest thing
// it waits on was recorded.
type QueueEntry struct {
	ItemID         string              `json:"item_id"`
	ItemKind       domain.ItemKind     `json:"item_kind"`
	ProcessID      string              `json:"process_id"`
	Reason         string              `json:"reason"`
	ContentVersion int                 `json:"content_version"`
	Since          time.Time           `json:"since"`
	Position       eventstore.Position `json:"position"`
	Flags          int                 `json:"flags,omitempty"`
	FlagSources    []domain.FlagSource `json:"flag_sources,omitempty"`
	Categories     []domain.Category   `json:"categories,omitempty"`
	AppealID       string              `json:"appeal_id,omitempty"`
	DecisionID     string              `json:"decision_id,omitempty"` // the decision appealed
}

// Entries returns the queue, oldest first; processID "" means every
// process. An item waiting for pre-moderation that is also flagged appears
// once, as pre-moderation.
func (q *Queue) Entries(processID string) []QueueEntry {
	out := []QueueEntry{}
	for _, it := range q.st {
		if processID != "" && it.Process != processID {
			continue
		}
		base := QueueEntry{ItemID: it.ID, ItemKind: it.Kind, ProcessID: it.Process}
		if v, ok := it.pending(); ok {
			e := base
			e.Reason, e.ContentVersion, e.Since, e.Position = ReasonPremoderation, v.Version, v.At, v.Position
			e.Flags = len(it.OpenFlags)
			out = append(out, e)
		} else if len(it.OpenFlags) > 0 {
			e := base
			f := it.OpenFlags[0]
			e.Reason, e.ContentVersion, e.Since, e.Position, e.Flags = ReasonFlagged, f.ContentVersion, f.At, f.Position, len(it.OpenFlags)
			for _, f := range it.OpenFlags {
				if !slices.Contains(e.FlagSources, f.Source) {
					e.FlagSources = append(e.FlagSources, f.Source)
				}
				if f.Category != "" && !slices.Contains(e.Categories, f.Category) {
					e.Categories = append(e.Categories, f.Category)
				}
			}
			out = append(out, e)
		}
		for _, a := range it.OpenAppeals {
			e := base
			e.Reason, e.Since, e.Position, e.AppealID, e.DecisionID = ReasonAppeal, a.At, a.Position, a.ID, a.DecisionID
			for _, d := range it.Decisions {
				if d.ID == a.DecisionID {
					e.ContentVersion = d.ContentVersion
				}
			}
			out = append(out, e)
		}
	}
	// Positions are unique, so the order is total and deterministic.
	slices.SortFunc(out, func(a, b QueueEntry) int { return cmp.Compare(a.Position, b.Position) })
	return out
}
