package integrity

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore"
)

// All, as Prove's tail, checks every leaf.
const All = -1

// Prove checks, before the log is served for writing, that the store and
// the tree are still the log this ledger signed:
//
//   - the latest checkpoint verifies with the ledger's key;
//   - the store reaches the latest checkpoint's size (a store that lost its
//     tail — a torn or damaged write-ahead log — would hand out positions
//     that already have receipts);
//   - the stored tree hashes of the last tail leaves (All: every leaf) are
//     exactly what the store's events hash to, leaf and interior hashes
//     alike, so a damaged hash file or a damaged event is found before a
//     wrong proof is served.
//
// Call it after Open and before Run. The error wraps ErrSignature or
// ErrMismatch and says what was found and where.
func (l *Log) Prove(ctx context.Context, store eventstore.Store, tail int64) error {
	c := l.Checkpoint()
	if len(c.Note) > 0 {
		if _, err := OpenCheckpoint(c.Note, l.key.verifier); err != nil {
			return fmt.Errorf("%w: the latest checkpoint (size %d) does not verify with this ledger's key: %v",
				ErrSignature, c.Size, err)
		}
	}
	head, err := store.Head(ctx)
	if err != nil {
		return fmt.Errorf("integrity: store head: %w", err)
	}
	if int64(head) < c.Size {
		return fmt.Errorf("%w: the store ends at position %d, but a checkpoint of size %d was signed: "+
			"the log lost %d events it had promised (restore from a backup, see `ledger restore`)",
			ErrMismatch, head, c.Size, c.Size-int64(head))
	}

	l.mu.RLock()
	defer l.mu.RUnlock()
	n := l.hf.n // hashes kept: the signed part of the tree
	from := int64(0)
	if tail >= 0 && n > tail {
		from = n - tail
	}
	cs, raw := store.(canonicalStore)
	for i := from; i < n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		limit := int(min(n-i, catchUpPage))
		var canon [][]byte
		if raw {
			evs, err := cs.ReadCanonical(ctx, eventstore.Position(i), limit)
			if err != nil {
				return fmt.Errorf("%w: reading the store at position %d: %v", ErrMismatch, i+1, err)
			}
			for _, ev := range evs {
				canon = append(canon, ev.Bytes)
			}
		} else {
			evs, err := store.ReadAll(ctx, eventstore.Position(i), limit)
			if err != nil {
				return fmt.Errorf("%w: reading the store at position %d: %v", ErrMismatch, i+1, err)
			}
			for _, ev := range evs {
				canon = append(canon, eventstore.AppendCanonical(nil, ev))
			}
		}
		if len(canon) == 0 {
			return fmt.Errorf("%w: the store has no event at position %d", ErrMismatch, i+1)
		}
		for _, b := range canon {
			if err := l.proveLeafLocked(i, b); err != nil {
				return err
			}
			i++
		}
	}
	return nil
}

// proveLeafLocked checks the hashes stored when leaf i was added against
// what the event's bytes give. Earlier hashes, which they are computed
// from, were checked first (or lie outside the tail, which Prove trusts).
func (l *Log) proveLeafLocked(i int64, canon []byte) error {
	want, err := tlog.StoredHashes(i, canon, l.hf)
	if err != nil {
		return fmt.Errorf("%w: recomputing the tree at leaf %d: %v", ErrMismatch, i, err)
	}
	first := tlog.StoredHashIndex(0, i)
	indexes := make([]int64, len(want))
	for k := range indexes {
		indexes[k] = first + int64(k)
	}
	got, err := l.hf.ReadHashes(indexes)
	if err != nil {
		return fmt.Errorf("%w: reading the stored tree at leaf %d: %v", ErrMismatch, i, err)
	}
	for k := range want {
		if got[k] != want[k] {
			return fmt.Errorf("%w: the stored tree hash %d (leaf index %d, position %d) is not what the store's event gives: "+
				"the hash file or the event is damaged", ErrMismatch, indexes[k], i, i+1)
		}
	}
	return nil
}
