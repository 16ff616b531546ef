package integrity

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/durable"
)

// The hash file is a flat array of 32-byte hashes: the hash with stored-hash
// index i (tlog.StoredHashIndex) is at byte offset 32*i. A tree of n leaves
// keeps exactly tlog.StoredHashCount(n) hashes, about 2n, so a proof needs
// O(log n) reads and appending a leaf writes on average two hashes.

// flushBytes bounds how many appended hashes are held before being written.
const flushBytes = 64 << 10

// hashFile is the tree's hash storage. It is not safe for concurrent use;
// the Log serialises access.
type hashFile struct {
	f *os.File
	n int64 // leaves in the tree (written or pending)

	written int64  // stored hashes already written to f
	pending []byte // stored hashes from index written on, not yet written

	// right holds the newest hash of each level: exactly the hashes that
	// appending the next leaf combines with, so Add never reads the file.
	right []storedHash
}

type storedHash struct {
	index int64
	hash  tlog.Hash
}

// openHashFile opens (creating) path and cuts it to a whole number of
// leaves. A torn tail — hashes written by an append a crash interrupted — is
// dropped here and recomputed from the store by CatchUp.
func openHashFile(path string) (*hashFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("integrity: open hash file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("integrity: stat hash file: %w", err)
	}
	// The file's name must survive a power cut as its synced hashes do.
	if err := durable.SyncDir(filepath.Dir(path)); err != nil {
		f.Close()
		return nil, fmt.Errorf("integrity: %w", err)
	}
	h := &hashFile{f: f}
	n := leavesIn(st.Size() / tlog.HashSize)
	if err := h.truncate(n); err != nil {
		f.Close()
		return nil, err
	}
	return h, nil
}

// leavesIn returns the largest n whose stored hashes fit in count hashes.
func leavesIn(count int64) int64 {
	// StoredHashCount is monotonic and StoredHashCount(n) >= n.
	return int64(sort.Search(int(count)+1, func(n int) bool {
		return tlog.StoredHashCount(int64(n)) > count
	})) - 1
}

// truncate cuts the tree to its first n leaves (n <= h.n after a flush, or
// any n fitting the file at open) and reloads the right edge.
func (h *hashFile) truncate(n int64) error {
	h.pending = h.pending[:0]
	count := tlog.StoredHashCount(n)
	if err := h.f.Truncate(count * tlog.HashSize); err != nil {
		return fmt.Errorf("integrity: truncate hash file: %w", err)
	}
	h.n, h.written = n, count
	h.right = h.right[:0]
	for level := 0; n>>level > 0; level++ {
		idx := tlog.StoredHashIndex(level, n>>level-1)
		hs, err := h.ReadHashes([]int64{idx})
		if err != nil {
			return err
		}
		h.right = append(h.right, storedHash{idx, hs[0]})
	}
	return nil
}

// ReadHashes implements tlog.HashReader.
func (h *hashFile) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
next:
	for i, idx := range indexes {
		for _, r := range h.right {
			if r.index == idx {
				out[i] = r.hash
				continue next
			}
		}
		if idx >= h.written {
			off := (idx - h.written) * tlog.HashSize
			if idx < 0 || off+tlog.HashSize > int64(len(h.pending)) {
				return nil, fmt.Errorf("integrity: stored hash %d is beyond the tree", idx)
			}
			copy(out[i][:], h.pending[off:])
			continue
		}
		if _, err := h.f.ReadAt(out[i][:], idx*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("integrity: read stored hash %d: %w", idx, err)
		}
	}
	return out, nil
}

// add appends the leaf with record hash leaf as leaf number h.n.
func (h *hashFile) add(leaf tlog.Hash) error {
	hashes, err := tlog.StoredHashesForRecordHash(h.n, leaf, h)
	if err != nil {
		return err
	}
	base := tlog.StoredHashIndex(0, h.n)
	for level, x := range hashes {
		if level < len(h.right) {
			h.right[level] = storedHash{base + int64(level), x}
		} else {
			h.right = append(h.right, storedHash{base + int64(level), x})
		}
		h.pending = append(h.pending, x[:]...)
	}
	h.n++
	if len(h.pending) >= flushBytes {
		return h.flush()
	}
	return nil
}

// flush writes pending hashes. It does not fsync: the file is derived from
// the store and a lost tail is recomputed on open.
func (h *hashFile) flush() error {
	if len(h.pending) == 0 {
		return nil
	}
	if _, err := h.f.WriteAt(h.pending, h.written*tlog.HashSize); err != nil {
		return fmt.Errorf("integrity: write hash file: %w", err)
	}
	h.written += int64(len(h.pending)) / tlog.HashSize
	h.pending = h.pending[:0]
	return nil
}

func (h *hashFile) close() error {
	return errors.Join(h.flush(), h.f.Close())
}

// HashFile is read-only access to a log's stored hashes, for verifiers that
// want to name the first leaf that differs (see Config.LeafHashes).
type HashFile struct {
	f *os.File
	n int64

	// Verifiers read leaves in order; a buffered cursor turns that into one
	// sequential read instead of a pread per leaf.
	r    *bufio.Reader
	next int64 // leaf the cursor is at
}

// OpenHashFile opens DIR/integrity/hashes read-only.
func OpenHashFile(dir string) (*HashFile, error) {
	f, err := os.Open(pathsIn(dir).hashes)
	if err != nil {
		return nil, fmt.Errorf("integrity: open hash file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &HashFile{f: f, n: leavesIn(st.Size() / tlog.HashSize), r: bufio.NewReaderSize(f, 1<<20)}, nil
}

// Leaves returns how many leaves the file holds hashes for.
func (h *HashFile) Leaves() int64 { return h.n }

// LeafHash returns the stored hash of leaf i. Reading leaves in increasing
// order is fast.
func (h *HashFile) LeafHash(i int64) (tlog.Hash, error) {
	var x tlog.Hash
	if i < 0 || i >= h.n {
		return x, fmt.Errorf("integrity: leaf %d is not in the hash file (%d leaves)", i, h.n)
	}
	if i != h.next {
		if _, err := h.f.Seek(tlog.StoredHashIndex(0, i)*tlog.HashSize, io.SeekStart); err != nil {
			return x, err
		}
		h.r.Reset(h.f)
		h.next = i
	}
	if _, err := io.ReadFull(h.r, x[:]); err != nil {
		h.next = -1
		return x, fmt.Errorf("integrity: read leaf hash %d: %w", i, err)
	}
	// Leaf i completes one subtree per trailing one bit of i; their hashes
	// follow it in the file.
	if _, err := h.r.Discard(bits.TrailingZeros64(uint64(i+1)) * tlog.HashSize); err != nil && i+1 < h.n {
		h.next = -1
		return x, fmt.Errorf("integrity: read hash file: %w", err)
	}
	h.next = i + 1
	return x, nil
}

// Close closes the file.
func (h *HashFile) Close() error { return h.f.Close() }
