package eventstore

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// ValidateStream reports whether name is a usable stream name: 1 to
// MaxStreamNameLen bytes of printable UTF-8 without spaces, not starting with
// '$' (reserved for KurrentDB system streams).
func ValidateStream(name string) error {
	switch {
	case name == "":
		return invalidf("empty stream name")
	case len(name) > MaxStreamNameLen:
		return invalidf("stream name longer than %d bytes", MaxStreamNameLen)
	case !utf8.ValidString(name):
		return invalidf("stream name is not UTF-8")
	case strings.HasPrefix(name, "$"):
		return invalidf("stream name %q: names starting with $ are reserved", name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return invalidf("stream name %q contains a space or control character", name)
		}
	}
	return nil
}

// ValidateAppend checks an Append request before any state is consulted. All
// stores call it so that they reject exactly the same input.
func ValidateAppend(stream string, expected ExpectedRevision, events []EventData) error {
	if err := ValidateStream(stream); err != nil {
		return err
	}
	if !expected.Valid() {
		return invalidf("invalid expected revision")
	}
	if len(events) == 0 {
		return invalidf("empty batch")
	}
	if len(events) > MaxBatchEvents {
		return invalidf("batch of %d events exceeds %d", len(events), MaxBatchEvents)
	}
	seen := make(map[uuid.UUID]bool, len(events))
	total := 0
	for i, e := range events {
		if e.ID == uuid.Nil {
			return invalidf("event %d: zero id", i)
		}
		if seen[e.ID] {
			return invalidf("event %d: id %s repeated in batch", i, e.ID)
		}
		seen[e.ID] = true
		if e.Type == "" || len(e.Type) > MaxTypeLen || strings.ContainsAny(e.Type, " \t\r\n$") || !utf8.ValidString(e.Type) {
			return invalidf("event %d: bad type %q", i, e.Type)
		}
		if e.Version < 1 {
			return invalidf("event %d: schema version %d < 1", i, e.Version)
		}
		if size := len(e.Data) + metadataSize(e.Metadata); size > MaxEventBytes {
			return invalidf("event %d: %d bytes exceeds the %d byte limit", i, size, MaxEventBytes)
		} else if total += size; total > MaxAppendBytes {
			return invalidf("batch exceeds the %d byte append limit", MaxAppendBytes)
		}
		if bytes.ContainsAny(e.Data, "\r\n") {
			return invalidf("event %d: data contains a line break", i)
		}
		if !json.Valid(e.Data) {
			return invalidf("event %d: data is not valid JSON", i)
		}
	}
	return nil
}

func metadataSize(m Metadata) int {
	return len(m.Actor) + len(m.Role) + len(m.CorrelationID) + len(m.CausationID) + len(m.RequestID) + 64
}

// Normalize returns the event a store records for d, appended to stream at
// revision and position at time now: times in UTC with microsecond
// precision, OccurredAt defaulting to the recorded time, Data copied.
func Normalize(stream string, d EventData, revision uint64, pos Position, now time.Time) Event {
	recorded := TruncateTime(now)
	md := d.Metadata
	if md.OccurredAt.IsZero() {
		md.OccurredAt = recorded
	} else {
		md.OccurredAt = TruncateTime(md.OccurredAt)
	}
	return Event{
		ID:         d.ID,
		Stream:     stream,
		Type:       d.Type,
		Version:    d.Version,
		Data:       bytes.Clone(d.Data),
		Metadata:   md,
		Revision:   revision,
		Position:   pos,
		RecordedAt: recorded,
	}
}

// TruncateTime is the time precision of the ledger: UTC, microseconds.
func TruncateTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// SameEvents reports whether stored are the events of batch, in order, so an
// append of batch is an idempotent repeat.
func SameEvents(stored []Event, batch []EventData) bool {
	if len(stored) != len(batch) {
		return false
	}
	for i := range stored {
		if stored[i].ID != batch[i].ID {
			return false
		}
	}
	return true
}
