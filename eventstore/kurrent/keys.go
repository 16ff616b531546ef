package kurrent

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/privacy"
)

var _ privacy.Vault = (*Vault)(nil)

// The participants' data keys live in the same database as the ledger, so
// every ledger node reaches them: one stream per subject, named
// keyPrefix + a hash of the subject, holding one event with the key; and
// one stream, shredLog, announcing shreddings. The space in keyPrefix makes
// these names that no ledger stream can have (eventstore.ValidateStream), so
// the ledger's API can neither read nor write them, and the index never
// numbers them: keys are not ledger events and not in the Merkle tree.
const (
	keyPrefix    = "keys "
	shredLog     = "keys shredded"
	keyEventType = "DataKeyCreated"
	shredType    = "DataKeysShredding"
)

// keyStream is the name (without namespace) of subject's key stream.
func keyStream(subject string) string {
	h := sha256.Sum256([]byte(subject))
	return keyPrefix + hex.EncodeToString(h[:16])
}

type keyRecord struct {
	Subject string         `json:"subject"`
	Key     []byte         `json:"key"`
	Labels  privacy.Labels `json:"labels,omitempty"`
}

type shredRecord struct {
	Subjects []string `json:"subjects"`
}

// maxCachedKeys bounds the key cache; when it is full it is emptied.
const maxCachedKeys = 100_000

// Vault is the privacy.Vault in KurrentDB, shared by every ledger node on
// the database. Get one with Store.Vault.
//
// Shredding hard-deletes the subject's key stream (a tombstone: it can
// never be written or read again). Until a scavenge has run on every node
// of the cluster, the key event stays readable in $all (KurrentDB's $all
// reads bypass deletion) and in the database files and backups; see the
// README for the scavenge this needs.
//
// Keys are cached, and a cache is never stale after a shredding has been
// answered: Shred first appends the subjects to the shred log, then
// tombstones their key streams, then waits checkWindow (plus a margin)
// before it returns. A node trusts its cache only while its last read of
// the shred log was sent less than checkWindow ago, otherwise it reads
// the shred log's new events first, evicts the subjects named there and
// never caches them again. So a node using a cached key after a Shred
// returned has read the shred log after the announcement, and no longer
// holds that key. The cost is one small read per node per checkWindow while
// keys are in use, and checkWindow of latency per shredding.
type Vault struct {
	s      *Store
	window time.Duration

	checkMu sync.Mutex // one read of the shred log at a time
	checked time.Time  // when the last read of the shred log was sent
	logNext uint64     // next revision of the shred log to read
	logInit bool       // whether logNext has been set

	mu        sync.Mutex
	keys      map[string][]byte // live keys, by subject
	gone      map[string]bool   // shredded subjects (final)
	announced map[string]bool   // subjects named in the shred log: never cached
}

// checkWindow is how long a read of the shred log is trusted. Every node
// sharing the database must use the same value: a shredding waits this
// long for other nodes' caches to lapse.
const checkWindow = 500 * time.Millisecond

// Vault returns the key vault in this Store's database (and namespace).
func (s *Store) Vault() *Vault {
	s.vaultOnce.Do(func() {
		s.vault = &Vault{s: s, window: checkWindow, keys: map[string][]byte{}, gone: map[string]bool{}, announced: map[string]bool{}}
	})
	return s.vault
}

// Key implements privacy.Vault.
func (v *Vault) Key(subject string) ([]byte, error) {
	v.mu.Lock()
	gone := v.gone[subject]
	v.mu.Unlock()
	if gone {
		return nil, privacy.ErrShredded
	}
	if err := v.check(); err != nil {
		return nil, err
	}
	v.mu.Lock()
	key, ok := v.keys[subject]
	v.mu.Unlock()
	if ok {
		return key, nil
	}
	return v.fetch(subject)
}

// fetch reads subject's key stream and caches what it finds.
func (v *Vault) fetch(subject string) ([]byte, error) {
	got, err := v.s.rawRead(context.Background(), v.s.cfg.ns+keyStream(subject), esdb.Forwards, esdb.Start{}, 1)
	switch code(err) {
	case esdb.ErrorCodeResourceNotFound:
		return nil, privacy.ErrNoKey
	case esdb.ErrorCodeStreamDeleted:
		v.forget(subject)
		return nil, privacy.ErrShredded
	}
	if err != nil {
		return nil, wrap("reading a data key", err)
	}
	if len(got) == 0 {
		return nil, privacy.ErrNoKey
	}
	var rec keyRecord
	if err := json.Unmarshal(got[0].Data, &rec); err != nil || rec.Subject != subject || len(rec.Key) != 32 {
		return nil, fmt.Errorf("kurrent: the key stream of %q holds no valid key", subject)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.announced[subject] && !v.gone[subject] {
		if len(v.keys) >= maxCachedKeys {
			clear(v.keys)
		}
		v.keys[subject] = rec.Key
	}
	return rec.Key, nil
}

// forget marks subject shredded on this node.
func (v *Vault) forget(subject string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.keys, subject)
	v.gone[subject] = true
}

// check reads the shred log's new events unless it was read less than
// window ago, evicting the subjects they name.
func (v *Vault) check() error {
	v.checkMu.Lock()
	defer v.checkMu.Unlock()
	if !v.checked.IsZero() && time.Since(v.checked) < v.window {
		return nil
	}
	sent := time.Now()
	ctx := context.Background()
	stream := v.s.cfg.ns + shredLog
	if !v.logInit {
		// Nothing is cached yet, so earlier shreddings need not be read:
		// their key streams are tombstones, which fetch reports.
		last, err := v.s.rawRead(ctx, stream, esdb.Backwards, esdb.End{}, 1)
		switch {
		case code(err) == esdb.ErrorCodeResourceNotFound:
		case err != nil:
			return wrap("reading the shred log", err)
		case len(last) == 1:
			v.logNext = last[0].EventNumber + 1
		}
		v.logInit = true
		v.checked = sent
		return nil
	}
	for {
		got, err := v.s.rawRead(ctx, stream, esdb.Forwards, esdb.Revision(v.logNext), uint64(v.s.cfg.page))
		if code(err) == esdb.ErrorCodeResourceNotFound {
			break
		}
		if err != nil {
			return wrap("reading the shred log", err)
		}
		v.mu.Lock()
		for _, r := range got {
			var rec shredRecord
			if err := json.Unmarshal(r.Data, &rec); err != nil {
				v.mu.Unlock()
				return fmt.Errorf("kurrent: shred log event %d: %w", r.EventNumber, err)
			}
			for _, s := range rec.Subjects {
				delete(v.keys, s)
				v.announced[s] = true
			}
			v.logNext = r.EventNumber + 1
		}
		v.mu.Unlock()
		if len(got) < v.s.cfg.page {
			break
		}
	}
	v.checked = sent
	return nil
}

// Create implements privacy.Vault: the key stream is written with
// expected revision NoStream, so of two nodes racing for one subject the
// second is refused and uses the first's key, and a tombstoned stream
// (a shredded subject) is refused for good.
func (v *Vault) Create(subject string, key []byte, labels privacy.Labels) ([]byte, error) {
	data, err := json.Marshal(keyRecord{Subject: subject, Key: key, Labels: labels})
	if err != nil {
		return nil, fmt.Errorf("kurrent: %w", err)
	}
	ev := esdb.EventData{EventID: uuid.New(), EventType: keyEventType, ContentType: esdb.ContentTypeJson, Data: data}
	timeout := v.s.cfg.timeout
	err = v.s.with(func(c *esdb.Client) error {
		_, err := c.AppendToStream(context.Background(), v.s.cfg.ns+keyStream(subject),
			esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}, Deadline: &timeout}, ev)
		return err
	})
	switch {
	case err == nil:
		v.mu.Lock()
		if !v.announced[subject] {
			v.keys[subject] = bytes.Clone(key)
		}
		v.mu.Unlock()
		return key, nil
	case code(err) == esdb.ErrorCodeStreamDeleted:
		v.forget(subject)
		return nil, privacy.ErrShredded
	}
	// Refused because another node was first, or an ambiguous failure:
	// whatever is stored now is the key (ours, if the write landed).
	stored, ferr := v.fetch(subject)
	if ferr == nil || errors.Is(ferr, privacy.ErrShredded) {
		return stored, ferr
	}
	return nil, wrap("storing a data key", errors.Join(err, ferr))
}

// Shred implements privacy.Vault: announce, tombstone, wait out the
// other nodes' check window (see Vault).
func (v *Vault) Shred(subjects ...string) error {
	if len(subjects) == 0 {
		return nil
	}
	ctx := context.Background()
	var evs []esdb.EventData
	for batch := range slices.Chunk(subjects, 1000) {
		data, err := json.Marshal(shredRecord{Subjects: batch})
		if err != nil {
			return fmt.Errorf("kurrent: %w", err)
		}
		evs = append(evs, esdb.EventData{EventID: uuid.New(), EventType: shredType, ContentType: esdb.ContentTypeJson, Data: data})
	}
	timeout := v.s.cfg.timeout
	err := v.s.with(func(c *esdb.Client) error {
		_, err := c.AppendToStream(ctx, v.s.cfg.ns+shredLog, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}, Deadline: &timeout}, evs...)
		return err
	})
	if err != nil {
		return wrap("announcing a shredding", err)
	}
	announced := time.Now()
	for _, s := range subjects {
		v.mu.Lock()
		v.announced[s] = true
		v.mu.Unlock()
		err := v.s.with(func(c *esdb.Client) error {
			_, err := c.TombstoneStream(ctx, v.s.cfg.ns+keyStream(s), esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}, Deadline: &timeout})
			return err
		})
		if err != nil && code(err) != esdb.ErrorCodeStreamDeleted {
			return wrap("deleting a data key", err)
		}
		v.forget(s)
	}
	// Every other node's cache lapses within window of the announcement;
	// the margin covers clocks that run at slightly different rates.
	wait := v.window + v.window/10 + 20*time.Millisecond - time.Since(announced)
	if wait > 0 {
		if err := v.s.sleep(ctx, wait); err != nil {
			return err
		}
	}
	return nil
}

// Subjects implements privacy.Vault by reading every key event in $all
// (a disposal is rare; the ledger reads the whole log for it anyway), then
// checking which of the matching subjects still have a key.
func (v *Vault) Subjects(label, value string) ([]string, error) {
	recs, err := v.keyEvents()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rec := range recs {
		if rec.Labels[label] != value {
			continue
		}
		_, err := v.Key(rec.Subject)
		switch {
		case errors.Is(err, privacy.ErrShredded), errors.Is(err, privacy.ErrNoKey):
		case err != nil:
			return nil, err
		default:
			out = append(out, rec.Subject)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Each calls f for every subject the vault knows, sorted: with its key
// and labels while it has one, with shredded true once it was shredded
// (known from its key event until a scavenge, and from the shred log).
// It is for copying the keys to another vault (ledger migrate).
func (v *Vault) Each(f func(subject string, key []byte, labels privacy.Labels, shredded bool) error) error {
	recs, err := v.keyEvents()
	if err != nil {
		return err
	}
	labels := map[string]privacy.Labels{}
	for _, r := range recs {
		labels[r.Subject] = r.Labels
	}
	shredded, err := v.shredLogSubjects()
	if err != nil {
		return err
	}
	for _, s := range shredded {
		if _, ok := labels[s]; !ok {
			labels[s] = nil
		}
	}
	for _, s := range slices.Sorted(maps.Keys(labels)) {
		key, err := v.Key(s)
		switch {
		case errors.Is(err, privacy.ErrShredded):
			err = f(s, nil, nil, true)
		case errors.Is(err, privacy.ErrNoKey):
			continue // announced, never made (or not yet)
		case err == nil:
			err = f(s, key, labels[s], false)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// keyEvents reads every key event in $all, one per subject.
func (v *Vault) keyEvents() ([]keyRecord, error) {
	ctx := context.Background()
	prefix := v.s.cfg.ns + keyPrefix
	seen := map[string]bool{}
	var out []keyRecord
	var from esdb.AllPosition = esdb.Start{}
	var last *esdb.Position
	for {
		got, err := v.s.rawReadAll(ctx, from, uint64(v.s.cfg.page))
		if err != nil {
			return nil, wrap("reading $all for data keys", err)
		}
		n := 0
		for _, r := range got {
			if last != nil && !less(*last, r.Position) {
				continue // the start of a page repeats the previous page's last record
			}
			n++
			p := r.Position
			last = &p
			if r.EventType != keyEventType || !strings.HasPrefix(r.StreamID, prefix) {
				continue
			}
			var rec keyRecord
			if json.Unmarshal(r.Data, &rec) == nil && rec.Subject != "" && !seen[rec.Subject] {
				seen[rec.Subject] = true
				out = append(out, rec)
			}
		}
		if n == 0 || len(got) < v.s.cfg.page {
			return out, nil
		}
		from = *last
	}
}

// shredLogSubjects reads every subject ever announced in the shred log.
func (v *Vault) shredLogSubjects() ([]string, error) {
	var out []string
	var next uint64
	for {
		got, err := v.s.rawRead(context.Background(), v.s.cfg.ns+shredLog, esdb.Forwards, esdb.Revision(next), uint64(v.s.cfg.page))
		if code(err) == esdb.ErrorCodeResourceNotFound {
			return out, nil
		}
		if err != nil {
			return nil, wrap("reading the shred log", err)
		}
		for _, r := range got {
			var rec shredRecord
			if err := json.Unmarshal(r.Data, &rec); err != nil {
				return nil, fmt.Errorf("kurrent: shred log event %d: %w", r.EventNumber, err)
			}
			out = append(out, rec.Subjects...)
			next = r.EventNumber + 1
		}
		if len(got) < v.s.cfg.page {
			return out, nil
		}
	}
}

// rawRead reads a stream without numbering its events (key streams and the
// shred log are not ledger streams).
func (s *Store) rawRead(ctx context.Context, stream string, dir esdb.Direction, from esdb.StreamPosition, n uint64) ([]*esdb.RecordedEvent, error) {
	timeout := s.cfg.timeout
	var got []*esdb.RecordedEvent
	err := s.with(func(c *esdb.Client) error {
		rs, err := c.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: dir, From: from, Deadline: &timeout}, n)
		if err != nil {
			return err
		}
		got, err = collect(rs)
		return err
	})
	return got, err
}

// rawReadAll reads n records of $all forwards from (and including) from.
func (s *Store) rawReadAll(ctx context.Context, from esdb.AllPosition, n uint64) ([]*esdb.RecordedEvent, error) {
	timeout := s.cfg.timeout
	var got []*esdb.RecordedEvent
	err := s.with(func(c *esdb.Client) error {
		rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{From: from, Deadline: &timeout}, n)
		if err != nil {
			return err
		}
		got, err = collect(rs)
		return err
	})
	return got, err
}
