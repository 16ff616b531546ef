package integrity

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore"
)

// An inclusion promise is what a write is answered with the moment its event
// is durable, before any checkpoint covers it (in the spirit of Rekor's
// signed entry timestamp): the log's signature, with its checkpoint key, on
// "leaf index I holds the event with this id and this leaf hash, recorded at
// this time". Every tree the log signs later of size > I must have that leaf;
// the inclusion proof into such a tree completes the receipt (Complete, or
// GET /v1/ledger/receipt). The byte format is in docs/integrity.md §6.
//
// The promise is a signed note whose first line is promiseHeader, so it can
// never be taken for a checkpoint: a checkpoint's first line is the log's
// origin and its second a tree size.
const promiseHeader = "participation-ledger/inclusion-promise/v1"

// Promise is the parsed text of a signed inclusion promise.
type Promise struct {
	Origin     string
	LeafIndex  int64
	LeafHash   tlog.Hash
	EventID    uuid.UUID
	RecordedAt time.Time
}

// Text formats p as note text: six lines, each ending in LF.
func (p Promise) Text() string {
	return promiseHeader + "\n" + p.Origin + "\n" + strconv.FormatInt(p.LeafIndex, 10) + "\n" +
		p.LeafHash.String() + "\n" + p.EventID.String() + "\n" + eventstore.FormatTime(p.RecordedAt) + "\n"
}

// parsePromise parses promise note text, accepting only the one form Text
// writes.
func parsePromise(text string) (Promise, error) {
	lines := strings.Split(text, "\n")
	if len(lines) != 7 || lines[0] != promiseHeader || lines[6] != "" {
		return Promise{}, fmt.Errorf("%w: not an inclusion promise", ErrMalformed)
	}
	var p Promise
	var err error
	p.Origin = lines[1]
	if p.LeafIndex, err = strconv.ParseInt(lines[2], 10, 64); err != nil || p.LeafIndex < 0 {
		return Promise{}, fmt.Errorf("%w: promise leaf index %q", ErrMalformed, lines[2])
	}
	if p.LeafHash, err = tlog.ParseHash(lines[3]); err != nil {
		return Promise{}, fmt.Errorf("%w: promise leaf hash %q", ErrMalformed, lines[3])
	}
	if p.EventID, err = uuid.Parse(lines[4]); err != nil {
		return Promise{}, fmt.Errorf("%w: promise event id %q", ErrMalformed, lines[4])
	}
	if p.RecordedAt, err = time.Parse("2006-01-02T15:04:05.000000Z", lines[5]); err != nil {
		return Promise{}, fmt.Errorf("%w: promise time %q", ErrMalformed, lines[5])
	}
	if p.Text() != text {
		return Promise{}, fmt.Errorf("%w: inclusion promise is not in its canonical form", ErrMalformed)
	}
	return p, nil
}

// Promise answers for a durable event at once: a receipt holding the event's
// canonical bytes, leaf index and leaf hash, and the log's signed promise to
// include exactly that leaf at that index. It costs one SHA-256 of the event
// and one Ed25519 signature, and does not wait for the tree or a checkpoint.
//
// ev must be the event as the store returned it from Append: the promise is
// only as good as the claim that the store holds these bytes at this
// position, which the integrity log then hashes as they are.
func (l *Log) Promise(ev eventstore.Event) (Receipt, error) {
	if ev.Position < 1 {
		return Receipt{}, fmt.Errorf("%w: event %s has no position", ErrMalformed, ev.ID)
	}
	l.mu.RLock()
	closed, failed := l.closed, l.failed
	l.mu.RUnlock()
	if closed {
		return Receipt{}, ErrClosed
	}
	if failed != nil {
		// The store contradicts a signed tree: promise nothing.
		return Receipt{}, failed
	}
	if l.notOfRecord != nil {
		return Receipt{}, l.notOfRecord // a copy promises nothing either
	}
	canon := eventstore.Canonical(ev)
	p := Promise{Origin: l.cfg.origin, LeafIndex: int64(ev.Position) - 1, LeafHash: tlog.RecordHash(canon),
		EventID: ev.ID, RecordedAt: ev.RecordedAt}
	msg, err := note.Sign(&note.Note{Text: p.Text()}, l.key.signer)
	if err != nil {
		return Receipt{}, fmt.Errorf("integrity: sign promise: %w", err)
	}
	l.metrics.promises.Inc()
	return Receipt{EventID: ev.ID, LeafIndex: p.LeafIndex, LeafHash: p.LeafHash,
		Promise: string(msg), Event: canon}, nil
}

// Complete adds to r (a promise, or an older full receipt) the latest
// checkpoint and the inclusion proof of r's leaf into it, once a checkpoint
// covers the leaf (else ErrNotCovered). It checks that the tree holds r's
// leaf hash at r's index: a log that broke its promise fails with
// ErrMismatch.
func (l *Log) Complete(r Receipt) (Receipt, error) {
	c := l.Checkpoint()
	if r.LeafIndex < 0 || r.LeafIndex >= c.Size {
		return Receipt{}, fmt.Errorf("%w: leaf %d is not in the latest checkpoint (size %d)", ErrNotCovered, r.LeafIndex, c.Size)
	}
	stored, err := l.LeafHash(r.LeafIndex)
	if err != nil {
		return Receipt{}, err
	}
	if stored != r.LeafHash {
		return Receipt{}, fmt.Errorf("%w: leaf %d of the tree is %s, the receipt says %s", ErrMismatch, r.LeafIndex, stored, r.LeafHash)
	}
	proof, err := l.InclusionProof(r.LeafIndex, c.Size)
	if err != nil {
		return Receipt{}, err
	}
	r.TreeSize, r.Proof, r.Checkpoint = c.Size, proof, string(c.Note)
	return r, nil
}

// verifyPromise checks r.Promise with vkey and that it vouches for r's
// leaf index, leaf hash and event id (and, when the event bytes are there,
// their recorded-at time).
func verifyPromise(r Receipt, vkey string, recordedAt time.Time) error {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return fmt.Errorf("%w: verifier key: %v", ErrMalformed, err)
	}
	n, err := note.Open([]byte(r.Promise), note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return fmt.Errorf("%w: inclusion promise is not signed by %s+%08x", ErrSignature, v.Name(), v.KeyHash())
		}
		return fmt.Errorf("%w: inclusion promise: %v", ErrMalformed, err)
	}
	p, err := parsePromise(n.Text)
	if err != nil {
		return err
	}
	switch {
	case p.LeafIndex != r.LeafIndex:
		return fmt.Errorf("%w: receipt says leaf %d, its promise says %d", ErrMismatch, r.LeafIndex, p.LeafIndex)
	case p.LeafHash != r.LeafHash:
		return fmt.Errorf("%w: receipt's leaf hash %s is not the promised %s", ErrMismatch, r.LeafHash, p.LeafHash)
	case p.EventID != r.EventID:
		return fmt.Errorf("%w: receipt is for event %s, its promise for %s", ErrMismatch, r.EventID, p.EventID)
	case !recordedAt.IsZero() && !recordedAt.Equal(p.RecordedAt):
		return fmt.Errorf("%w: event recorded at %s, its promise says %s", ErrMismatch,
			eventstore.FormatTime(recordedAt), eventstore.FormatTime(p.RecordedAt))
	}
	return nil
}
