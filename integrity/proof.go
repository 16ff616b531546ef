package integrity

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore"
)

// InclusionProof returns the RFC 6962 audit path showing that leaf index
// (Position-1) is in the tree of the given size.
func (l *Log) InclusionProof(index, size int64) (tlog.RecordProof, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if size < 1 || size > l.hf.n || index < 0 || index >= size {
		return nil, fmt.Errorf("%w: leaf %d in a tree of size %d (the tree has %d leaves)", ErrNotCovered, index, size, l.hf.n)
	}
	p, err := tlog.ProveRecord(size, index, l.hf)
	if err != nil {
		return nil, err
	}
	return nonNil(p), nil
}

// ConsistencyProof returns the RFC 6962 consistency proof that the tree of
// size from is a prefix of the tree of size to.
func (l *Log) ConsistencyProof(from, to int64) (tlog.TreeProof, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if from < 0 || to < from || to > l.hf.n {
		return nil, fmt.Errorf("%w: consistency from %d to %d (the tree has %d leaves)", ErrNotCovered, from, to, l.hf.n)
	}
	if from == 0 {
		// Every tree extends the empty tree; RFC 6962 defines no proof.
		return tlog.TreeProof{}, nil
	}
	p, err := tlog.ProveTree(to, from, l.hf)
	if err != nil {
		return nil, err
	}
	return nonNil(p), nil
}

// LeafHash returns the stored hash of leaf index.
func (l *Log) LeafHash(index int64) (tlog.Hash, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if index < 0 || index >= l.hf.n {
		return tlog.Hash{}, fmt.Errorf("%w: leaf %d (the tree has %d leaves)", ErrNotCovered, index, l.hf.n)
	}
	hs, err := l.hf.ReadHashes([]int64{tlog.StoredHashIndex(0, index)})
	if err != nil {
		return tlog.Hash{}, err
	}
	return hs[0], nil
}

// nonNil makes an empty proof encode as [] rather than null.
func nonNil[S ~[]tlog.Hash](p S) S {
	if p == nil {
		return S{}
	}
	return p
}

// InclusionResponse is the JSON body of /v1/ledger/proof/inclusion. Hashes
// are standard base64 strings; the proof is ordered from the leaf upwards.
type InclusionResponse struct {
	LeafIndex int64            `json:"leaf_index"`
	TreeSize  int64            `json:"tree_size"`
	LeafHash  tlog.Hash        `json:"leaf_hash"`
	Proof     tlog.RecordProof `json:"proof"`
}

// ConsistencyResponse is the JSON body of /v1/ledger/proof/consistency.
type ConsistencyResponse struct {
	From  int64          `json:"from"`
	To    int64          `json:"to"`
	Proof tlog.TreeProof `json:"proof"`
}

// Receipt lets a participant prove later, with only the log's verifier key,
// that an event is in the ledger. It comes in two forms (docs/integrity.md
// §6): a promise, given the moment the event is durable — the event's
// canonical bytes, its leaf index and leaf hash and the log's signed
// inclusion promise — and a full receipt, which adds a signed checkpoint and
// the inclusion proof into that checkpoint's tree. A promise is completed
// into a full receipt later (Complete, GET /v1/ledger/receipt).
type Receipt struct {
	EventID   uuid.UUID `json:"event_id"`
	LeafIndex int64     `json:"leaf_index"`
	LeafHash  tlog.Hash `json:"leaf_hash"`
	// Promise is the signed inclusion promise note, verbatim.
	Promise    string           `json:"promise,omitempty"`
	TreeSize   int64            `json:"tree_size,omitempty"`
	Proof      tlog.RecordProof `json:"inclusion_proof,omitempty"`
	Checkpoint string           `json:"checkpoint,omitempty"` // the signed note, verbatim
	// Event is the event's canonical bytes (sealed fields stay sealed),
	// base64 in JSON because JSON re-encoding could change them.
	Event []byte `json:"event,omitempty"`
}

// Full reports whether r carries a checkpoint and an inclusion proof (not
// only a promise).
func (r Receipt) Full() bool { return r.Checkpoint != "" }

// Receipt returns the receipt for ev against the latest checkpoint, which
// must cover it (see WaitFor). It checks that ev is the event the tree holds
// at its position.
func (l *Log) Receipt(ev eventstore.Event) (Receipt, error) {
	c := l.Checkpoint()
	index := int64(ev.Position) - 1
	if index < 0 || index >= c.Size {
		return Receipt{}, fmt.Errorf("%w: position %d is not in the latest checkpoint (size %d)", ErrNotCovered, ev.Position, c.Size)
	}
	canon := eventstore.Canonical(ev)
	leaf := tlog.RecordHash(canon)
	stored, err := l.LeafHash(index)
	if err != nil {
		return Receipt{}, err
	}
	if stored != leaf {
		return Receipt{}, fmt.Errorf("%w: event %s does not hash to the leaf at index %d", ErrMismatch, ev.ID, index)
	}
	proof, err := l.InclusionProof(index, c.Size)
	if err != nil {
		return Receipt{}, err
	}
	return Receipt{
		EventID: ev.ID, LeafIndex: index, TreeSize: c.Size, LeafHash: leaf,
		Proof: proof, Checkpoint: string(c.Note), Event: canon,
	}, nil
}

// VerifyReceipt checks r with the log's verifier key: that the event bytes
// (if present) are canonical, have r's event id and hash to r's leaf; for a
// promise, its signature and that it vouches for r's index, leaf hash, event
// id and recorded-at time; for a full receipt, the checkpoint's signature,
// that it describes r's tree, and that the proof puts the leaf at r's index
// in the signed tree. A receipt with both is checked both ways.
func VerifyReceipt(r Receipt, vkey string) error {
	if r.Promise == "" && r.Checkpoint == "" {
		return fmt.Errorf("%w: receipt has neither a promise nor a checkpoint", ErrMalformed)
	}
	var recordedAt time.Time
	if r.Event != nil {
		ev, err := eventstore.ParseCanonical(r.Event, eventstore.Position(r.LeafIndex+1))
		if err != nil {
			return fmt.Errorf("%w: receipt event: %v", ErrMalformed, err)
		}
		if ev.ID != r.EventID {
			return fmt.Errorf("%w: receipt is for event %s but carries event %s", ErrMismatch, r.EventID, ev.ID)
		}
		if h := tlog.RecordHash(r.Event); h != r.LeafHash {
			return fmt.Errorf("%w: receipt event hashes to %s, not to its leaf hash %s", ErrMismatch, h, r.LeafHash)
		}
		recordedAt = ev.RecordedAt
	}
	if r.Promise != "" {
		if err := verifyPromise(r, vkey, recordedAt); err != nil {
			return err
		}
	}
	if r.Checkpoint == "" {
		return nil
	}
	c, err := OpenCheckpoint([]byte(r.Checkpoint), vkey)
	if err != nil {
		return err
	}
	if c.Size != r.TreeSize {
		return fmt.Errorf("%w: receipt says tree size %d, its checkpoint says %d", ErrMismatch, r.TreeSize, c.Size)
	}
	if r.LeafIndex < 0 || r.LeafIndex >= c.Size {
		return fmt.Errorf("%w: leaf index %d is outside the tree of size %d", ErrMismatch, r.LeafIndex, c.Size)
	}
	if err := tlog.CheckRecord(r.Proof, c.Size, c.Root, r.LeafIndex, r.LeafHash); err != nil {
		return fmt.Errorf("%w: inclusion proof of leaf %d in the tree of size %d: %v", ErrMismatch, r.LeafIndex, c.Size, err)
	}
	return nil
}

// ParseReceipt decodes a receipt's JSON.
func ParseReceipt(b []byte) (Receipt, error) {
	var r Receipt
	if err := json.Unmarshal(b, &r); err != nil {
		return Receipt{}, fmt.Errorf("%w: receipt: %v", ErrMalformed, err)
	}
	return r, nil
}

// CheckConsistency verifies that newer extends older, given a consistency
// proof from older.Size to newer.Size. Same size with different roots is a
// fork; a smaller newer tree is a rollback.
func CheckConsistency(older, newer Checkpoint, proof tlog.TreeProof) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("%w: checkpoints are of different logs (%q and %q)", ErrMismatch, older.Origin, newer.Origin)
	}
	switch {
	case newer.Size < older.Size:
		return fmt.Errorf("%w: the newer checkpoint has size %d, smaller than the older checkpoint's %d", ErrRollback, newer.Size, older.Size)
	case newer.Size == older.Size:
		if newer.Root != older.Root {
			return fmt.Errorf("%w: two checkpoints of size %d with different roots %s and %s", ErrFork, newer.Size, older.Root, newer.Root)
		}
		return nil
	case older.Size == 0:
		if older.Root != emptyRoot() {
			return fmt.Errorf("%w: the older checkpoint of size 0 has root %s, not the empty tree's", ErrFork, older.Root)
		}
		return nil
	}
	if err := tlog.CheckTree(proof, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("%w: the tree of size %d does not extend the older tree of size %d (%v)", ErrFork, newer.Size, older.Size, err)
	}
	return nil
}

// emptyRoot is the root of the tree of size 0: SHA-256 of nothing.
func emptyRoot() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil) // size 0 reads no hashes
	return h
}
