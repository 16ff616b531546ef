package embedded

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/google/uuid"
)

// idFilter is a Bloom filter over every stored event id. Almost every id an
// append brings is new, and a Pebble Get that finds nothing still searches
// the memtable and consults each level: it was most of the CPU of an
// append. The filter answers "certainly not stored" from memory, so Pebble
// is asked only about the ids it might hold: real repeats and about one
// new id in three hundred.
//
// It is built at Open from the id index and grown (rebuilt at twice the
// capacity) by the committer when full. Ids of a batch that then fails to
// commit stay in it, which only costs a Get. Only the holder of commitMu
// uses it.
type idFilter struct {
	bits  []uint64
	n     int // ids added
	limit int // ids it holds at the intended false-positive rate
}

const (
	filterBitsPerID = 12 // with filterHashes, about 0.3% false positives
	filterHashes    = 8
	filterMinIDs    = 1 << 16
)

func newIDFilter(ids int) *idFilter {
	limit := max(filterMinIDs, 2*ids)
	words := (limit*filterBitsPerID + 63) / 64
	return &idFilter{bits: make([]uint64, words), limit: limit}
}

// hashes derives two independent 64-bit hashes from the id. Ids are
// mostly random, but derived ids and the fixed version bits are not, so
// both halves are mixed (splitmix64's finaliser).
func hashes(id uuid.UUID) (uint64, uint64) {
	mix := func(x uint64) uint64 {
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		return x ^ x>>31
	}
	a, b := binary.LittleEndian.Uint64(id[:8]), binary.LittleEndian.Uint64(id[8:])
	return mix(a ^ mix(b)), mix(b+0x9e3779b97f4a7c15) | 1
}

func (f *idFilter) add(id uuid.UUID) {
	if f == nil {
		return
	}
	h1, h2 := hashes(id)
	m := uint64(len(f.bits) * 64)
	for i := range uint64(filterHashes) {
		bit := (h1 + i*h2) % m
		f.bits[bit/64] |= 1 << (bit % 64)
	}
	f.n++
}

// mayContain is false only for ids never added. A nil filter (one that
// could not be rebuilt) knows nothing.
func (f *idFilter) mayContain(id uuid.UUID) bool {
	if f == nil {
		return true // no filter: ask Pebble
	}
	h1, h2 := hashes(id)
	m := uint64(len(f.bits) * 64)
	for i := range uint64(filterHashes) {
		bit := (h1 + i*h2) % m
		if f.bits[bit/64]&(1<<(bit%64)) == 0 {
			return false
		}
	}
	return true
}

func (f *idFilter) full() bool { return f != nil && f.n >= f.limit }

// buildIDFilter reads every id in the id index into a new filter with room
// for twice as many as atLeast (the store's head: one id per event).
func buildIDFilter(db *pebble.DB, atLeast int) (*idFilter, error) {
	it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{tagID}, UpperBound: []byte{tagID + 1}})
	if err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	defer it.Close()
	f := newIDFilter(atLeast)
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 17 {
			return nil, fmt.Errorf("embedded: corrupt id key %x", k)
		}
		f.add(uuid.UUID(k[1:]))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("embedded: %w", err)
	}
	return f, nil
}
