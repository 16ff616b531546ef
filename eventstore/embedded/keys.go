package embedded

import (
	"encoding/binary"
	"fmt"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/eventstore"
)

// Key layout. Every key starts with a one-byte table tag; integers are
// big-endian and fixed-width so that Pebble's bytewise order is numeric order.
//
//	'e' pos[8]                    → the event's canonical bytes (eventstore.Canonical)
//	's' stream 0x00 rev[8]        → pos[8]
//	'i' id[16]                    → pos[8] rev[8] stream
//	'm' name                      → metadata ("m" "format" → formatVersion)
//
// The event table is the log itself: its values are exactly the leaves the
// integrity log hashes, so an auditor can check the data directory without
// trusting any index. Stream names never contain 0x00 (eventstore.ValidateStream
// rejects control characters), so "stream 0x00" is a prefix of that stream's
// index keys and of no other stream's. The global head and each stream's head
// are not stored separately: they are the last key of their table, which one
// atomic batch keeps consistent with the events themselves.
const (
	tagEvent  = 'e'
	tagStream = 's'
	tagID     = 'i'
	tagMeta   = 'm'
)

// formatVersion identifies this key layout; Open refuses other versions.
const formatVersion = "1"

var metaFormatKey = []byte{tagMeta, 'f', 'o', 'r', 'm', 'a', 't'}

func eventKey(pos eventstore.Position) []byte {
	k := make([]byte, 9)
	k[0] = tagEvent
	binary.BigEndian.PutUint64(k[1:], uint64(pos))
	return k
}

func parseEventKey(k []byte) (eventstore.Position, error) {
	if len(k) != 9 || k[0] != tagEvent {
		return 0, fmt.Errorf("embedded: corrupt event key %x", k)
	}
	return eventstore.Position(binary.BigEndian.Uint64(k[1:])), nil
}

// streamPrefix is the prefix of every index key of stream.
func streamPrefix(stream string) []byte {
	k := make([]byte, 0, len(stream)+2+8)
	k = append(k, tagStream)
	k = append(k, stream...)
	return append(k, 0)
}

// streamEnd is the exclusive upper bound of stream's index keys.
func streamEnd(stream string) []byte {
	k := streamPrefix(stream)
	k[len(k)-1] = 1
	return k
}

func streamKey(stream string, rev uint64) []byte {
	return binary.BigEndian.AppendUint64(streamPrefix(stream), rev)
}

func parseStreamEntry(k, v []byte) (rev uint64, pos eventstore.Position, err error) {
	if len(k) < 10 || len(v) != 8 {
		return 0, 0, fmt.Errorf("embedded: corrupt stream index entry %x", k)
	}
	return binary.BigEndian.Uint64(k[len(k)-8:]), eventstore.Position(binary.BigEndian.Uint64(v)), nil
}

func idKey(id uuid.UUID) []byte {
	k := make([]byte, 17)
	k[0] = tagID
	copy(k[1:], id[:])
	return k
}

// location is where an event id is stored.
type location struct {
	stream string
	rev    uint64
	pos    eventstore.Position
}

func encodeLocation(l location) []byte {
	v := make([]byte, 16, 16+len(l.stream))
	binary.BigEndian.PutUint64(v, uint64(l.pos))
	binary.BigEndian.PutUint64(v[8:], l.rev)
	return append(v, l.stream...)
}

func decodeLocation(v []byte) (location, error) {
	if len(v) < 17 {
		return location{}, fmt.Errorf("embedded: corrupt id index value %x", v)
	}
	return location{
		pos:    eventstore.Position(binary.BigEndian.Uint64(v)),
		rev:    binary.BigEndian.Uint64(v[8:]),
		stream: string(v[16:]),
	}, nil
}
