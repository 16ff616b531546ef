package projections

import (
	"encoding/json"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Actors is every actor's audit trail: what each moderator, official,
// intake officer, admin or participant appended, in order, by the actor id
// in the event metadata. It is for auditors and admins (and an actor's own
// view); it holds ids, never content.
type Actors struct {
	st map[string][]ActorEntry
}

// ActorEntry is one thing an actor did.
type ActorEntry struct {
	Position   eventstore.Position `json:"position"`
	RecordedAt time.Time           `json:"recorded_at"`
	OccurredAt time.Time           `json:"occurred_at"`
	Type       string              `json:"type"`
	Role       string              `json:"role"`
	Stream     string              `json:"stream"`
	ItemID     string              `json:"item_id,omitempty"`
	ProcessID  string              `json:"process_id,omitempty"`
	DecisionID string              `json:"decision_id,omitempty"`
	RequestID  string              `json:"request_id,omitempty"`
}

// NewActors returns an empty actor trail model.
func NewActors() *Actors { a := &Actors{}; a.Reset(); return a }

// Name implements Model.
func (*Actors) Name() string { return NameActors }

// Reset implements Model.
func (a *Actors) Reset() { a.st = map[string][]ActorEntry{} }

// MarshalJSON implements Model.
func (a *Actors) MarshalJSON() ([]byte, error) { return json.Marshal(a.st) }

// UnmarshalJSON implements Model.
func (a *Actors) UnmarshalJSON(b []byte) error {
	a.Reset()
	return json.Unmarshal(b, &a.st)
}

// Apply implements Model.
func (a *Actors) Apply(ev eventstore.Event, de domain.Event) {
	actor := ev.Metadata.Actor
	if actor == "" {
		return
	}
	e := ActorEntry{Position: ev.Position, RecordedAt: ev.RecordedAt, OccurredAt: ev.Metadata.OccurredAt,
		Type: ev.Type, Role: ev.Metadata.Role, Stream: ev.Stream, RequestID: ev.Metadata.RequestID}
	e.ItemID, _ = itemOf(de)
	e.ProcessID = processOf(de)
	switch x := de.(type) {
	case *domain.ModerationDecided:
		e.DecisionID = x.DecisionID
	case *domain.AppealDecided:
		e.DecisionID = x.DecisionID
	case *domain.SubmissionReceived:
		e.ProcessID = x.ProcessID
	case *domain.CommentPosted:
		e.ProcessID = x.ProcessID
	}
	a.st[actor] = append(a.st[actor], e)
}

func (a *Actors) stateUpTo(pos eventstore.Position) ([]byte, error) {
	return json.Marshal(cutUpTo(a.st, pos))
}

// Trail returns what actor did, oldest first: at most limit entries (<= 0:
// all) with positions after `after` and up to upTo (Latest: all). The
// history is append-only, so as of a position it is the current one cut
// there.
func (a *Actors) Trail(actor string, after, upTo eventstore.Position, limit int) []ActorEntry {
	out := []ActorEntry{}
	for _, e := range a.st[actor] {
		if e.Position <= after {
			continue
		}
		if e.Position > upTo {
			break
		}
		if limit > 0 && len(out) == limit {
			break
		}
		out = append(out, e)
	}
	return out
}
