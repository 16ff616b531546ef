package integrity

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore"
)

// Config says what VerifyLeaves and VerifyStore check the events against.
type Config struct {
	// Checkpoint is the signed checkpoint note the events must reproduce.
	// Nil means none was ever signed (a ledger seeded but never served):
	// then only the events' form, stream order and any stored leaf hashes
	// are checked, and Report.Root is a root no signature vouches for.
	Checkpoint []byte
	// Key is the log's verifier key ("name+hash+data").
	Key string
	// Older, if set, is an older signed checkpoint (same key) that the
	// log must extend: a smaller newer tree is a rollback; a different root
	// for the older size is a fork.
	Older []byte
	// LeafHashes, if set, returns the hash the log stored for leaf i; a
	// leaf that hashes differently is named as the first bad index. A data
	// directory has them (OpenHashFile); an export does not.
	LeafHashes func(i int64) (tlog.Hash, error)
	// LeafHashCount is how many leaves LeafHashes knows.
	LeafHashCount int64
	// History, if set, are further signed checkpoints (any order, same
	// key), e.g. from DIR/integrity/checkpoints. Each is checked as the
	// events pass its size, which narrows down where an altered log first
	// differs when no leaf hashes are at hand.
	History [][]byte
	// Final says Checkpoint is the newest the log had signed when History
	// was taken (an export's history stops at its checkpoint): a larger
	// checkpoint in History then means Checkpoint was rolled back.
	Final bool
	// AllowUncovered accepts events past the checkpoint's size (a live
	// data directory appends after its latest checkpoint). They are
	// counted in Report.Uncovered either way.
	AllowUncovered bool
}

// Report describes a successful verification.
type Report struct {
	Events     int64      // events read
	Checkpoint Checkpoint // the checkpoint the events reproduce
	Older      *Checkpoint
	History    int   // intermediate checkpoints checked
	Uncovered  int64 // events past the checkpoint
	Elapsed    time.Duration
	// Root is the root of the tree of all the events read; Unsigned says
	// there was no checkpoint to check it against.
	Root     tlog.Hash
	Unsigned bool
}

// VerifyError is a verification failure at a known place in the log.
type VerifyError struct {
	// The first bad event has a leaf index (Position-1) in [Index, End).
	// End is Index+1 when the event is known exactly: a stored leaf hash
	// names it, or the event itself is malformed or missing. Otherwise
	// Index is the end of the longest prefix that a signed root vouches
	// for.
	Index, End int64
	// Noticed is where the problem showed, e.g. the event whose stream
	// revision skips after an earlier event was dropped or altered.
	Noticed int64
	Err     error // ErrMismatch, ErrMalformed or ErrFork
	Reason  string
}

func (e *VerifyError) Error() string {
	if e.End > e.Index+1 {
		return fmt.Sprintf("%v: the first bad event is at a leaf index in [%d, %d) (positions %d to %d); noticed at leaf index %d: %s",
			e.Err, e.Index, e.End, e.Index+1, e.End, e.Noticed, e.Reason)
	}
	return fmt.Sprintf("%v: first bad event at leaf index %d (position %d): %s", e.Err, e.Index, e.Index+1, e.Reason)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// maxLine bounds one line of events.ndjson: the largest event plus its
// envelope.
const maxLine = eventstore.MaxEventBytes + 64<<10

// VerifyLeaves reads events.ndjson (one event's canonical bytes per line, in
// position order from position 1), recomputes every leaf hash and the tree,
// and checks them against cfg. It stops at the first bad event. Memory is
// O(log n) for the tree plus one entry per stream for the revision check.
func VerifyLeaves(r io.Reader, cfg Config) (Report, error) {
	c, err := newChecker(cfg)
	if err != nil {
		return Report{}, err
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var long []byte
	for {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) && len(long) <= maxLine {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			if len(long) > maxLine {
				return Report{}, c.bad(c.t.n, ErrMalformed, "line is longer than any event can be")
			}
			line = long
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return Report{}, fmt.Errorf("integrity: read events: %w", err)
		}
		if n := len(line); n > 0 && line[n-1] == '\n' {
			line = line[:n-1]
		} else if n > 0 && err == nil {
			return Report{}, c.bad(c.t.n, ErrMalformed, "line does not end in a line feed")
		}
		if len(line) > 0 || err == nil {
			if aerr := c.add(line); aerr != nil {
				return Report{}, aerr
			}
		}
		if errors.Is(err, io.EOF) {
			return c.finish()
		}
	}
}

// VerifyStore is VerifyLeaves over the events of a store.
func VerifyStore(ctx context.Context, s eventstore.Store, cfg Config) (Report, error) {
	c, err := newChecker(cfg)
	if err != nil {
		return Report{}, err
	}
	var buf []byte
	for {
		evs, err := s.ReadAll(ctx, eventstore.Position(c.t.n), catchUpPage)
		if err != nil {
			return Report{}, fmt.Errorf("integrity: read store: %w", err)
		}
		if len(evs) == 0 {
			return c.finish()
		}
		for _, ev := range evs {
			if int64(ev.Position) != c.t.n+1 {
				return Report{}, c.bad(c.t.n, ErrMismatch, fmt.Sprintf("the store returned position %d next", ev.Position))
			}
			buf = eventstore.AppendCanonical(buf[:0], ev)
			if err := c.add(buf); err != nil {
				return Report{}, err
			}
		}
	}
}

type checker struct {
	cfg   Config
	start time.Time
	ckpt  Checkpoint
	older *Checkpoint
	hist  []Checkpoint // sorted by size, all < ckpt.Size
	next  int          // first entry of hist not yet passed

	t        memTree
	good     int64 // the first good leaves are vouched for by a signed root
	olderOK  bool
	unsigned bool              // no checkpoint: ckpt is zero
	streams  map[string]uint64 // next revision of each stream
}

func newChecker(cfg Config) (*checker, error) {
	if cfg.Checkpoint == nil {
		if cfg.Older != nil || len(cfg.History) > 0 {
			return nil, errors.New("integrity: older checkpoints need the checkpoint they lead to")
		}
		return &checker{cfg: cfg, start: time.Now(), streams: make(map[string]uint64), unsigned: true}, nil
	}
	sc, err := OpenCheckpoint(cfg.Checkpoint, cfg.Key)
	if err != nil {
		return nil, err
	}
	c := &checker{cfg: cfg, start: time.Now(), ckpt: sc.Checkpoint, streams: make(map[string]uint64)}
	if cfg.Older != nil {
		old, err := OpenCheckpoint(cfg.Older, cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("older checkpoint: %w", err)
		}
		// Rollbacks, same-size forks and other origins need no events;
		// an older, smaller tree is checked as the events pass its size.
		if old.Size >= c.ckpt.Size || old.Size == 0 || old.Origin != c.ckpt.Origin {
			if err := CheckConsistency(old.Checkpoint, c.ckpt, nil); err != nil {
				return nil, err
			}
		}
		c.older = &old.Checkpoint
	}
	for i, msg := range cfg.History {
		h, err := OpenCheckpoint(msg, cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("checkpoint history entry %d: %w", i, err)
		}
		if h.Origin != c.ckpt.Origin {
			return nil, fmt.Errorf("%w: checkpoint history entry %d is for origin %q", ErrMismatch, i, h.Origin)
		}
		if h.Size > c.ckpt.Size {
			if cfg.Final {
				return nil, fmt.Errorf("%w: the history lists a checkpoint of size %d, later than the final one of size %d",
					ErrRollback, h.Size, c.ckpt.Size)
			}
			// Signed by the same key for a bigger tree than the newest we
			// were given: the checkpoint under test is not the latest, which
			// is fine; its larger siblings just cannot be checked here.
			continue
		}
		if h.Size == c.ckpt.Size {
			if h.Root != c.ckpt.Root {
				return nil, fmt.Errorf("%w: two signed checkpoints of size %d with different roots %s and %s",
					ErrFork, h.Size, h.Root, c.ckpt.Root)
			}
			continue
		}
		c.hist = append(c.hist, h.Checkpoint)
	}
	sort.Slice(c.hist, func(i, j int) bool { return c.hist[i].Size < c.hist[j].Size })
	if err := c.checkRoots(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *checker) bad(index int64, kind error, reason string) *VerifyError {
	return &VerifyError{Index: index, End: index + 1, Noticed: index, Err: kind, Reason: reason}
}

// suspect reports a problem noticed at index whose cause may lie anywhere
// after the prefix a signed root vouches for.
func (c *checker) suspect(index int64, reason string) *VerifyError {
	return &VerifyError{Index: c.good, End: index + 1, Noticed: index, Err: ErrMismatch, Reason: reason}
}

// add takes the canonical bytes of leaf c.t.n.
func (c *checker) add(line []byte) error {
	i := c.t.n
	if len(line) == 0 {
		return c.bad(i, ErrMalformed, "empty line")
	}
	leaf := tlog.RecordHash(line)
	if c.cfg.LeafHashes != nil && i < c.cfg.LeafHashCount {
		stored, err := c.cfg.LeafHashes(i)
		if err != nil {
			return fmt.Errorf("integrity: stored leaf hash %d: %w", i, err)
		}
		if stored != leaf {
			return c.bad(i, ErrMismatch, fmt.Sprintf("the event hashes to %s but the log recorded %s for this leaf", leaf, stored))
		}
	}
	stream, rev, err := header(line)
	if err != nil {
		return c.bad(i, ErrMalformed, err.Error())
	}
	if want := c.streams[string(stream)]; rev != want {
		return c.suspect(i, fmt.Sprintf(
			"stream %q has revision %d here, expected %d: an event of that stream is missing, repeated or out of order",
			stream, rev, want))
	}
	c.streams[string(stream)] = rev + 1

	if err := c.t.add(leaf); err != nil {
		return err
	}
	return c.checkRoots()
}

// checkRoots compares the tree so far with every signed root of its size.
func (c *checker) checkRoots() error {
	n := c.t.n
	matches := func(want tlog.Hash) (bool, error) {
		root, err := tlog.TreeHash(n, &c.t)
		return root == want, err
	}
	for c.next < len(c.hist) && c.hist[c.next].Size <= n {
		h := c.hist[c.next]
		c.next++
		if h.Size < n {
			continue // duplicates of a size already checked
		}
		ok, err := matches(h.Root)
		if err != nil {
			return err
		}
		if !ok {
			return &VerifyError{Index: c.good, End: n, Noticed: n - 1, Err: ErrMismatch, Reason: fmt.Sprintf(
				"the first %d events do not reproduce the checkpoint signed for that size (the first %d do)", n, c.good)}
		}
		c.good = n
	}
	if c.older != nil && c.older.Size == n {
		ok, err := matches(c.older.Root)
		if err != nil {
			return err
		}
		c.olderOK = ok
		if ok {
			c.good = max(c.good, n)
		}
	}
	if n == c.ckpt.Size {
		ok, err := matches(c.ckpt.Root)
		if err != nil {
			return err
		}
		if !ok {
			if c.older != nil && !c.olderOK {
				return &VerifyError{Index: c.good, End: min(n, c.older.Size), Noticed: n - 1, Err: ErrMismatch, Reason: fmt.Sprintf(
					"the events reproduce neither the checkpoint of size %d nor the older one of size %d", n, c.older.Size)}
			}
			lo := c.good
			if c.older != nil && c.olderOK {
				lo = max(lo, c.older.Size)
			}
			return &VerifyError{Index: lo, End: n, Noticed: n - 1, Err: ErrMismatch, Reason: fmt.Sprintf(
				"the first %d events hash to a root other than the signed checkpoint's %s", n, c.ckpt.Root)}
		}
		if c.older != nil && !c.olderOK {
			return fmt.Errorf("%w: the log reproduces the checkpoint of size %d, but its first %d events do not reproduce the older checkpoint: history was rewritten",
				ErrFork, n, c.older.Size)
		}
		c.good = n
	}
	return nil
}

func (c *checker) finish() (Report, error) {
	n := c.t.n
	if n < c.ckpt.Size {
		return Report{}, c.bad(n, ErrMismatch, fmt.Sprintf(
			"the log ends after %d events but the checkpoint covers %d: events are missing (truncated or dropped)", n, c.ckpt.Size))
	}
	r := Report{
		Events: n, Checkpoint: c.ckpt, Older: c.older, History: c.next,
		Uncovered: n - c.ckpt.Size, Elapsed: time.Since(c.start),
	}
	if n > 0 {
		root, err := tlog.TreeHash(n, &c.t)
		if err != nil {
			return r, err
		}
		r.Root = root
	}
	r.Unsigned = c.unsigned
	if r.Uncovered > 0 && !c.cfg.AllowUncovered && !c.unsigned {
		return r, c.bad(c.ckpt.Size, ErrMismatch, fmt.Sprintf(
			"%d events follow the checkpoint of size %d; no signature covers them", r.Uncovered, c.ckpt.Size))
	}
	return r, nil
}

// header reads the stream (as its JSON string, which is unique in canonical
// form) and revision from the start of canonical bytes without decoding the
// whole event, which keeps verification fast.
func header(b []byte) (stream []byte, rev uint64, err error) {
	const idPrefix, streamKey, revKey = `{"id":"`, `","stream":"`, `,"revision":`
	rest, ok := bytes.CutPrefix(b, []byte(idPrefix))
	if !ok || len(rest) < 36 {
		return nil, 0, errors.New("not a canonical event (no id)")
	}
	rest, ok = bytes.CutPrefix(rest[36:], []byte(streamKey))
	if !ok {
		return nil, 0, errors.New("not a canonical event (no stream after the id)")
	}
	end := -1
	for i := 0; i < len(rest); i++ {
		if rest[i] == '\\' {
			i++
		} else if rest[i] == '"' {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, 0, errors.New("not a canonical event (unterminated stream)")
	}
	stream = rest[:end]
	rest, ok = bytes.CutPrefix(rest[end+1:], []byte(revKey))
	if !ok {
		return nil, 0, errors.New("not a canonical event (no revision after the stream)")
	}
	digits := 0
	for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
		digits++
	}
	rev, perr := strconv.ParseUint(string(rest[:digits]), 10, 64)
	if perr != nil || digits > 1 && rest[0] == '0' || digits == len(rest) || rest[digits] != ',' {
		return nil, 0, errors.New("not a canonical event (bad revision)")
	}
	return stream, rev, nil
}

// memTree is the right edge of a tree being rebuilt: the newest hash of
// each level, which is all that appending a leaf or computing the root of
// the whole tree reads.
type memTree struct {
	n     int64
	right []storedHash
}

func (t *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
next:
	for i, idx := range indexes {
		for _, r := range t.right {
			if r.index == idx {
				out[i] = r.hash
				continue next
			}
		}
		return nil, fmt.Errorf("integrity: hash %d is not on the right edge", idx)
	}
	return out, nil
}

func (t *memTree) add(leaf tlog.Hash) error {
	hashes, err := tlog.StoredHashesForRecordHash(t.n, leaf, t)
	if err != nil {
		return err
	}
	base := tlog.StoredHashIndex(0, t.n)
	for level, x := range hashes {
		if level < len(t.right) {
			t.right[level] = storedHash{base + int64(level), x}
		} else {
			t.right = append(t.right, storedHash{base + int64(level), x})
		}
	}
	t.n++
	return nil
}
