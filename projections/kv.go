package projections

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/malmo/participation-ledger/eventstore"
)

// State on disk. A model whose state would grow with the log keeps it in
// an embedded Pebble database instead of memory (a kvModel): the runner
// gives every such model its key space in one database (Config.Dir/state)
// and commits what Apply wrote together with the model's position, in one
// atomic batch per event, so a restart reads a position, not a state, and
// memory does not grow with the log. A model made outside a runner (replay,
// tests) keeps the same keys in a database in memory.

// kvModel is a model whose state lives in a key-value space.
type kvModel interface {
	Model
	// kvSpace returns the model's space, for the runner to attach.
	kvSpace() *kvSpace
}

// kvSpace is one model's keys in a Pebble database: writes go to the
// current batch, which the runner commits with the model's position;
// reads see the database (committed state).
type kvSpace struct {
	prefix []byte
	db     *pebble.DB
	owned  bool          // db is the model's own in-memory database
	batch  *pebble.Batch // where Apply writes until the runner commits
}

func newKVSpace(name string) *kvSpace { return &kvSpace{prefix: []byte("m/" + name + "/")} }

// ensure opens an in-memory database for a model used outside a runner.
func (s *kvSpace) ensure() {
	if s.db != nil {
		return
	}
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem(), Logger: quietPebble{}})
	if err != nil {
		panic(fmt.Sprintf("projections: in-memory state database: %v", err)) // memory only: cannot fail but for a bug
	}
	s.db, s.owned = db, true
}

// attach moves the space into the runner's database, writing to batch.
func (s *kvSpace) attach(db *pebble.DB, batch *pebble.Batch) {
	if s.owned {
		s.db.Close()
	}
	s.db, s.owned, s.batch = db, false, batch
}

// detach forgets the runner's database, closed.
func (s *kvSpace) detach() { s.db, s.batch = nil, nil }

// writer returns the batch Apply writes to.
func (s *kvSpace) writer() *pebble.Batch {
	s.ensure()
	if s.batch == nil {
		s.batch = s.db.NewBatch()
	}
	return s.batch
}

// flush commits what was written outside a runner (a standalone model
// reads only committed state).
func (s *kvSpace) flush() {
	if s.owned && s.batch != nil {
		if err := s.batch.Commit(pebble.NoSync); err != nil {
			panic(fmt.Sprintf("projections: in-memory state database: %v", err))
		}
		s.batch = nil
	}
}

// reader returns what to read from: the committed state.
func (s *kvSpace) reader() pebble.Reader {
	s.ensure()
	s.flush()
	return s.db
}

func (s *kvSpace) key(parts ...[]byte) []byte {
	k := bytes.Clone(s.prefix)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// reset deletes every key of the space (in the current batch).
func (s *kvSpace) reset() {
	if s.db == nil {
		return
	}
	if err := s.writer().DeleteRange(s.prefix, prefixEnd(s.prefix), nil); err != nil {
		panic(fmt.Sprintf("projections: reset: %v", err))
	}
}

// iter iterates over the keys with prefix p of the space.
func (s *kvSpace) iter(p []byte) *pebble.Iterator {
	lo := s.key(p)
	it, err := s.reader().NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	if err != nil {
		panic(fmt.Sprintf("projections: state iterator: %v", err))
	}
	return it
}

func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

func posBytes(p eventstore.Position) []byte { return binary.BigEndian.AppendUint64(nil, uint64(p)) }

// The runner's database: positions of kv models under "p/<name>".

func kvPosKey(name string) []byte { return []byte("p/" + name) }

func openStateDB(dir string) (*pebble.DB, error) {
	opts := &pebble.Options{Logger: quietPebble{}}
	if dir == "" {
		opts.FS = vfs.NewMem()
	}
	return pebble.Open(dir, opts)
}

func readKVPos(db *pebble.DB, name string) (eventstore.Position, error) {
	v, closer, err := db.Get(kvPosKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer closer.Close()
	if len(v) != 8 {
		return 0, fmt.Errorf("projections: position of %s: %d bytes", name, len(v))
	}
	return eventstore.Position(binary.BigEndian.Uint64(v)), nil
}

// quietPebble drops Pebble's informational logging.
type quietPebble struct{}

func (quietPebble) Infof(string, ...any)  {}
func (quietPebble) Errorf(string, ...any) {}
func (quietPebble) Fatalf(format string, args ...any) {
	panic(fmt.Sprintf(format, args...))
}
