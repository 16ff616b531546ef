package ledgerhttp

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/malmo/participation-ledger/durable"
)

// idempotency remembers, per (token, Idempotency-Key), the hash of the
// request and the answer given, so a retried write gets the same status and
// body and a different request under the same key is refused.
//
// Records are kept in memory (at most limit, oldest evicted first) and
// appended to a file under the data directory so they survive a restart.
// The file is not fsync'd, deliberately: the record is only a cache of an
// answer. The guarantee that a retry never writes twice comes from the event
// store, where event ids are derived from the key and re-appending them is a
// no-op that returns the original result; a record lost in a crash merely
// makes the retry take that slower path to the same answer. Responses hold
// ids, positions and receipts, never personal data, so the file holds none
// either.
type idempotency struct {
	limit int
	path  string // "" keeps records in memory only

	mu       sync.Mutex
	records  map[string]*idemRecord
	order    []string // insertion order, for eviction
	inflight map[string]chan struct{}
	file     *os.File
	written  int // records appended to file since it was last rewritten
}

type idemRecord struct {
	Key    string          `json:"k"`
	Hash   [32]byte        `json:"h"`
	Status int             `json:"s"`
	Body   json.RawMessage `json:"b"`
}

const idemFile = "idempotency.jsonl"

// openIdempotency loads the records under dir ("" for memory only).
func openIdempotency(dir string, limit int) (*idempotency, error) {
	if limit <= 0 {
		limit = 100_000
	}
	s := &idempotency{limit: limit, records: map[string]*idemRecord{}, inflight: map[string]chan struct{}{}}
	if dir == "" {
		return s, nil
	}
	if err := durable.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ledgerhttp: %w", err)
	}
	s.path = filepath.Join(dir, idemFile)
	if f, err := os.Open(s.path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var r idemRecord
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				continue // a torn last line after a crash: the store's idempotency covers it
			}
			s.put(&r)
		}
		f.Close()
	} else if !os.IsNotExist(err) {
		return nil, fmt.Errorf("ledgerhttp: %w", err)
	}
	if err := s.rewrite(); err != nil {
		return nil, err
	}
	return s, nil
}

// requestHash binds a key to one request: method, path, If-Match and body.
func requestHash(method, path, ifMatch string, body []byte) [32]byte {
	h := sha256.New()
	for _, part := range []string{method, path, ifMatch} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	h.Write(body)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// begin returns the stored record for key, or claims key for the caller
// (who must call finish or abandon). A concurrent request with the same
// key waits for the first to finish, then sees its record.
func (s *idempotency) begin(key string) (*idemRecord, bool) {
	for {
		s.mu.Lock()
		if r := s.records[key]; r != nil {
			s.mu.Unlock()
			return r, false
		}
		ch, busy := s.inflight[key]
		if !busy {
			s.inflight[key] = make(chan struct{})
			s.mu.Unlock()
			return nil, true
		}
		s.mu.Unlock()
		<-ch
	}
}

// finish stores the answer for a claimed key.
func (s *idempotency) finish(r *idemRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release(r.Key)
	s.put(r)
	if s.file == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("ledgerhttp: %w", err)
	}
	if _, err := s.file.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("ledgerhttp: idempotency record: %w", err)
	}
	s.written++
	if s.written > 2*s.limit {
		return s.rewriteLocked()
	}
	return nil
}

// abandon releases a claimed key without recording an answer (the request
// failed in a way a retry may fix).
func (s *idempotency) abandon(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.release(key)
}

func (s *idempotency) release(key string) {
	if ch, ok := s.inflight[key]; ok {
		close(ch)
		delete(s.inflight, key)
	}
}

func (s *idempotency) put(r *idemRecord) {
	if _, ok := s.records[r.Key]; !ok {
		s.order = append(s.order, r.Key)
	}
	s.records[r.Key] = r
	for len(s.order) > s.limit {
		delete(s.records, s.order[0])
		s.order = s.order[1:]
	}
}

func (s *idempotency) rewrite() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rewriteLocked()
}

// rewriteLocked compacts the file to the records still held, so it stays
// bounded like the map.
func (s *idempotency) rewriteLocked() error {
	if s.path == "" {
		return nil
	}
	if s.file != nil {
		s.file.Close()
		s.file = nil
	}
	var b []byte
	for _, k := range s.order {
		line, err := json.Marshal(s.records[k])
		if err != nil {
			return fmt.Errorf("ledgerhttp: %w", err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := durable.WriteFile(s.path, b, 0o600); err != nil {
		return fmt.Errorf("ledgerhttp: %w", err)
	}
	var err error
	s.file, err = os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("ledgerhttp: %w", err)
	}
	s.written = 0
	return nil
}

// close closes the file.
func (s *idempotency) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}
