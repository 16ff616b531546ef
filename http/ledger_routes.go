package ledgerhttp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/integrity"
)

// The integrity routes: the latest signed checkpoint, the verifier key and
// RFC 6962 proofs (formats: docs/integrity.md). All are public: they
// reveal hashes only, and anyone must be able to check the log.

func (s *Server) integrityLog(w http.ResponseWriter, r *http.Request) (Integrity, bool) {
	if s.cfg.Read == nil || s.cfg.Read.Integrity == nil {
		writeProblem(w, r, s.log, errNoReadSide)
		return nil, false
	}
	return s.cfg.Read.Integrity, true
}

// CheckpointJSON is /v1/ledger/checkpoint with Accept: application/json.
// Note is the signed note verbatim; the other fields are its parsed text.
type CheckpointJSON struct {
	Origin string    `json:"origin"`
	Size   int64     `json:"size"`
	Root   tlog.Hash `json:"root"`
	Note   string    `json:"note"`
}

// checkpoint serves the latest signed checkpoint note (text/plain), or its
// JSON form when asked for application/json.
func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request) {
	il, ok := s.integrityLog(w, r)
	if !ok {
		return
	}
	c := il.Checkpoint()
	if len(c.Note) == 0 {
		writeProblem(w, r, s.log, fmt.Errorf("%w: no checkpoint signed yet", errNotFound))
		return
	}
	w.Header().Set(PositionHeader, fmt.Sprint(c.Size))
	w.Header().Set("Cache-Control", "no-cache")
	if accepts(r, contentJSON) {
		writeJSON(w, contentJSON, http.StatusOK, CheckpointJSON{Origin: c.Origin, Size: c.Size, Root: c.Root, Note: string(c.Note)})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(c.Note)
}

// verifierKey serves the checkpoint verifier key (text, or JSON when
// asked): what `ledger verify --key` takes.
func (s *Server) verifierKey(w http.ResponseWriter, r *http.Request) {
	il, ok := s.integrityLog(w, r)
	if !ok {
		return
	}
	v := il.Verifier()
	if accepts(r, contentJSON) {
		writeJSON(w, contentJSON, http.StatusOK, map[string]string{"verifier": v})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(v + "\n"))
}

// inclusionProof proves leaf ?index= (an event's position minus one) in
// the tree of ?size= (default: the latest checkpoint's), or finds the leaf
// of ?event_id= (in ?stream= when given, else by scanning the log).
func (s *Server) inclusionProof(w http.ResponseWriter, r *http.Request) {
	il, ok := s.integrityLog(w, r)
	if !ok {
		return
	}
	size, err := queryInt(r, "size", uint64(max(il.Checkpoint().Size, 0)), 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	q := r.URL.Query()
	var index uint64
	switch {
	case q.Get("event_id") != "":
		if q.Get("index") != "" {
			writeProblem(w, r, s.log, badQuery("index", "give index or event_id, not both"))
			return
		}
		id, err := uuid.Parse(q.Get("event_id"))
		if err != nil {
			writeProblem(w, r, s.log, badQuery("event_id", "not a UUID"))
			return
		}
		pos, err := s.findEvent(r.Context(), id, q.Get("stream"))
		if err != nil {
			writeProblem(w, r, s.log, err)
			return
		}
		index = uint64(pos) - 1
	case q.Get("index") != "":
		if index, err = queryInt(r, "index", 0, 0); err != nil {
			writeProblem(w, r, s.log, err)
			return
		}
	default:
		writeProblem(w, r, s.log, badQuery("index", "index or event_id is required"))
		return
	}
	proof, err := il.InclusionProof(int64(index), int64(size))
	if err != nil {
		writeProblem(w, r, s.log, integrityErr(err))
		return
	}
	leaf, err := il.LeafHash(int64(index))
	if err != nil {
		writeProblem(w, r, s.log, integrityErr(err))
		return
	}
	writeJSON(w, contentJSON, http.StatusOK, integrity.InclusionResponse{
		LeafIndex: int64(index), TreeSize: int64(size), LeafHash: leaf, Proof: proof})
}

// ReceiptCompletion is /v1/ledger/receipt: the fields that complete an
// inclusion promise into a full receipt. They have the receipt's JSON names,
// so merging this object into the promise receipt gives the full receipt
// (docs/integrity.md §6).
type ReceiptCompletion struct {
	LeafIndex  int64            `json:"leaf_index"`
	LeafHash   tlog.Hash        `json:"leaf_hash"`
	TreeSize   int64            `json:"tree_size"`
	Proof      tlog.RecordProof `json:"inclusion_proof"`
	Checkpoint string           `json:"checkpoint"`
}

// receiptCompletion serves the latest signed checkpoint with the inclusion
// proof of leaf ?index= into it; 404 until a checkpoint covers the leaf.
func (s *Server) receiptCompletion(w http.ResponseWriter, r *http.Request) {
	il, ok := s.integrityLog(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("index") == "" {
		writeProblem(w, r, s.log, badQuery("index", "required (the receipt's leaf_index)"))
		return
	}
	index, err := queryInt(r, "index", 0, 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	c := il.Checkpoint()
	if int64(index) >= c.Size {
		writeProblem(w, r, s.log, fmt.Errorf("%w: leaf %d is not yet covered by a signed checkpoint (size %d); retry in a second",
			errNotFound, index, c.Size))
		return
	}
	proof, err := il.InclusionProof(int64(index), c.Size)
	if err != nil {
		writeProblem(w, r, s.log, integrityErr(err))
		return
	}
	leaf, err := il.LeafHash(int64(index))
	if err != nil {
		writeProblem(w, r, s.log, integrityErr(err))
		return
	}
	writeJSON(w, contentJSON, http.StatusOK, ReceiptCompletion{
		LeafIndex: int64(index), LeafHash: leaf, TreeSize: c.Size, Proof: proof, Checkpoint: string(c.Note)})
}

// consistencyProof proves that the tree of ?from= is a prefix of the tree
// of ?to= (default: the latest checkpoint's size).
func (s *Server) consistencyProof(w http.ResponseWriter, r *http.Request) {
	il, ok := s.integrityLog(w, r)
	if !ok {
		return
	}
	if r.URL.Query().Get("from") == "" {
		writeProblem(w, r, s.log, badQuery("from", "required"))
		return
	}
	from, err := queryInt(r, "from", 0, 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	to, err := queryInt(r, "to", uint64(max(il.Checkpoint().Size, 0)), 0)
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	proof, err := il.ConsistencyProof(int64(from), int64(to))
	if err != nil {
		writeProblem(w, r, s.log, integrityErr(err))
		return
	}
	writeJSON(w, contentJSON, http.StatusOK, integrity.ConsistencyResponse{From: int64(from), To: int64(to), Proof: proof})
}

// integrityErr maps a proof request outside the tree to 404.
func integrityErr(err error) error {
	if errors.Is(err, integrity.ErrNotCovered) {
		return fmt.Errorf("%w: %v", errNotFound, err)
	}
	return err
}

// findEvent returns the position of the event with id: read from its
// stream when the caller names it, else by scanning the log (receipts
// carry the leaf index, so this is a convenience, linear in the log).
func (s *Server) findEvent(ctx context.Context, id uuid.UUID, stream string) (eventstore.Position, error) {
	if stream != "" {
		if err := eventstore.ValidateStream(stream); err != nil {
			return 0, err
		}
		for rev := uint64(0); ; {
			evs, err := s.store().ReadStream(ctx, stream, eventstore.ReadStreamOptions{From: rev, Limit: 1000})
			if err != nil {
				return 0, err
			}
			for _, e := range evs {
				if e.ID == id {
					return e.Position, nil
				}
			}
			if len(evs) < 1000 {
				return 0, fmt.Errorf("event %s in stream %s: %w", id, strings.TrimSpace(stream), errNotFound)
			}
			rev = evs[len(evs)-1].Revision + 1
		}
	}
	for after := eventstore.Position(0); ; {
		evs, err := s.store().ReadAll(ctx, after, 4096)
		if err != nil {
			return 0, err
		}
		for _, e := range evs {
			if e.ID == id {
				return e.Position, nil
			}
		}
		if len(evs) == 0 {
			return 0, fmt.Errorf("event %s: %w", id, errNotFound)
		}
		after = evs[len(evs)-1].Position
	}
}
