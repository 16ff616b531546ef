package projections

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Actors is every actor's audit trail: what each moderator, official,
// intake officer, admin or participant appended, in order, by the actor id
// in the event metadata. It is for auditors and admins (and an actor's own
// view); it holds ids, never content.
//
// Its state is on disk (see kvModel): key actor id, 0, position; value the
// entry's JSON.
type Actors struct {
	kv *kvSpace
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
func NewActors() *Actors { return &Actors{kv: newKVSpace(NameActors)} }

// Name implements Model.
func (*Actors) Name() string { return NameActors }

func (a *Actors) kvSpace() *kvSpace { return a.kv }

// Reset implements Model.
func (a *Actors) Reset() { a.kv.reset() }

// MarshalJSON implements Model: every actor's trail, by actor id.
func (a *Actors) MarshalJSON() ([]byte, error) { return a.stateUpTo(Latest) }

// UnmarshalJSON implements Model.
func (a *Actors) UnmarshalJSON(b []byte) error {
	var st map[string][]ActorEntry
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	a.Reset()
	for actor, es := range st {
		for _, e := range es {
			if err := a.put(actor, e); err != nil {
				return err
			}
		}
	}
	return nil
}

func actorKey(actor string, pos eventstore.Position) []byte {
	return append(append([]byte(actor), 0), posBytes(pos)...)
}

func (a *Actors) put(actor string, e ActorEntry) error {
	v, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return a.kv.writer().Set(a.kv.key(actorKey(actor, e.Position)), v, nil)
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
	if err := a.put(actor, e); err != nil {
		panic(fmt.Sprintf("projections: actors: %v", err)) // an entry always marshals; the batch is memory
	}
}

func (a *Actors) stateUpTo(pos eventstore.Position) ([]byte, error) {
	st := map[string][]ActorEntry{}
	it := a.kv.iter(nil)
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[len(a.kv.prefix):]
		actor := string(k[:len(k)-9])
		var e ActorEntry
		if err := json.Unmarshal(it.Value(), &e); err != nil {
			return nil, err
		}
		if e.Position <= pos {
			st[actor] = append(st[actor], e)
		}
	}
	return json.Marshal(st)
}

// Trail returns what actor did, oldest first: at most limit entries (<= 0:
// all) with positions after `after` and up to upTo (Latest: all). The
// history is append-only, so as of a position it is the current one cut
// there.
func (a *Actors) Trail(actor string, after, upTo eventstore.Position, limit int) []ActorEntry {
	out := []ActorEntry{}
	if after == Latest {
		return out
	}
	it := a.kv.iter(append([]byte(actor), 0))
	defer it.Close()
	for ok := it.SeekGE(a.kv.key(actorKey(actor, after+1))); ok; ok = it.Next() {
		if limit > 0 && len(out) == limit {
			break
		}
		var e ActorEntry
		if err := json.Unmarshal(it.Value(), &e); err != nil || e.Position > upTo {
			break
		}
		out = append(out, e)
	}
	return out
}
