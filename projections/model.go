// Package projections folds the event log into read models and keeps them current: a checkpointed runner (catch-up, live, rebuild), as-of queries and live change notifications.
package projections

import (
	"encoding/json"
	"math"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Model is a read model: a pure fold over the log. Apply must not do I/O,
// read a clock or fail, so that the same events always give the same state
// and MarshalJSON gives the same bytes (a rebuild is checkable). Apply sees
// every event in global order, with de the decoded body (nil when the
// runner could not decode it; models then ignore the event).
//
// MarshalJSON and UnmarshalJSON are the state's snapshot form; they hold
// personal fields only sealed, as the log does.
type Model interface {
	Name() string
	Apply(ev eventstore.Event, de domain.Event)
	// Reset empties the state, before a rebuild.
	Reset()
	json.Marshaler
	json.Unmarshaler
}

// Latest, as the upTo of a query that filters by position, means "as of
// now".
const Latest = eventstore.Position(math.MaxUint64)

// appendOnly is implemented by models whose state is a history of entries
// stamped with positions (the trails). Their as-of answers cut the live
// state at a position, so the runner keeps no snapshots of them; their
// snapshots would grow with the log and cost the most disk. stateUpTo is
// the state cut at pos, in MarshalJSON's form: what a fold up to pos
// marshals to.
type appendOnly interface {
	stateUpTo(pos eventstore.Position) ([]byte, error)
}

// positioned is an entry of an append-only history.
type positioned interface{ position() eventstore.Position }

func (e trailEntry) position() eventstore.Position { return e.Position }

// cutUpTo returns the histories of st cut at pos (entries are in position
// order), leaving out keys with nothing left.
func cutUpTo[E positioned](st map[string][]E, pos eventstore.Position) map[string][]E {
	out := make(map[string][]E, len(st))
	for k, es := range st {
		n := 0
		for n < len(es) && es[n].position() <= pos {
			n++
		}
		if n > 0 {
			out[k] = es[:n]
		}
	}
	return out
}
