package eventstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// The canonical bytes of an event are the one serialization of its whole
// envelope that the integrity log hashes (leaf input), the auditor export
// writes (one per line of events.ndjson) and the embedded store keeps on disk.
// They are the same for every backend. The format, byte for byte:
//
//	{"id":ID,"stream":S,"revision":R,"type":T,"version":V,"recorded_at":TIME,
//	 "metadata":{"actor":A,"role":RO,"correlation_id":C,"causation_id":CA,
//	 "request_id":RQ,"occurred_at":TIME},"data":DATA}
//
// on one line without spaces, where ID is the lower-case hyphenated UUID as a
// JSON string; S, T and the metadata strings are JSON strings as Go's
// encoding/json writes them (HTML-safe escaping: <, >, & as \u003c, \u003e,
// \u0026); metadata string members whose value is empty are left out; R and V
// are decimal integers; TIME is a JSON string "YYYY-MM-DDThh:mm:ss.ffffffZ"
// (UTC, exactly six fractional digits); DATA is the event's Data verbatim
// (valid JSON, no CR or LF). The canonical bytes contain no line break.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// FormatTime writes t in the ledger's canonical time format.
func FormatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// Canonical returns e's canonical bytes.
func Canonical(e Event) []byte {
	b := make([]byte, 0, 256+len(e.Data))
	return AppendCanonical(b, e)
}

// AppendCanonical appends e's canonical bytes to b.
func AppendCanonical(b []byte, e Event) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, e.ID.String()...)
	b = append(b, `","stream":`...)
	b = appendString(b, e.Stream)
	b = append(b, `,"revision":`...)
	b = strconv.AppendUint(b, e.Revision, 10)
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(e.Version), 10)
	b = append(b, `,"recorded_at":"`...)
	b = e.RecordedAt.UTC().AppendFormat(b, timeLayout)
	b = append(b, `","metadata":{`...)
	m := e.Metadata
	for _, kv := range [...]struct{ k, v string }{
		{"actor", m.Actor}, {"role", m.Role}, {"correlation_id", m.CorrelationID},
		{"causation_id", m.CausationID}, {"request_id", m.RequestID},
	} {
		if kv.v == "" {
			continue
		}
		b = append(b, '"')
		b = append(b, kv.k...)
		b = append(b, `":`...)
		b = appendString(b, kv.v)
		b = append(b, ',')
	}
	b = append(b, `"occurred_at":"`...)
	b = m.OccurredAt.UTC().AppendFormat(b, timeLayout)
	b = append(b, `"},"data":`...)
	b = append(b, e.Data...)
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

type canonicalJSON struct {
	ID         uuid.UUID       `json:"id"`
	Stream     string          `json:"stream"`
	Revision   uint64          `json:"revision"`
	Type       string          `json:"type"`
	Version    int             `json:"version"`
	RecordedAt string          `json:"recorded_at"`
	Metadata   canonicalMeta   `json:"metadata"`
	Data       json.RawMessage `json:"data"`
}

type canonicalMeta struct {
	Actor         string `json:"actor"`
	Role          string `json:"role"`
	CorrelationID string `json:"correlation_id"`
	CausationID   string `json:"causation_id"`
	RequestID     string `json:"request_id"`
	OccurredAt    string `json:"occurred_at"`
}

// ParseCanonical decodes canonical bytes into an event with the given
// position. It is strict: it fails unless b is exactly Canonical of the
// decoded event, so one event has one encoding.
func ParseCanonical(b []byte, pos Position) (Event, error) {
	if bytes.ContainsAny(b, "\r\n") {
		return Event{}, fmt.Errorf("%w: canonical event contains a line break", ErrInvalid)
	}
	var c canonicalJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Event{}, fmt.Errorf("%w: canonical event: %v", ErrInvalid, err)
	}
	recorded, err1 := time.Parse(timeLayout, c.RecordedAt)
	occurred, err2 := time.Parse(timeLayout, c.Metadata.OccurredAt)
	if err1 != nil || err2 != nil {
		return Event{}, fmt.Errorf("%w: canonical event: bad time", ErrInvalid)
	}
	e := Event{
		ID: c.ID, Stream: c.Stream, Type: c.Type, Version: c.Version,
		Data: []byte(c.Data),
		Metadata: Metadata{
			Actor: c.Metadata.Actor, Role: c.Metadata.Role,
			CorrelationID: c.Metadata.CorrelationID, CausationID: c.Metadata.CausationID,
			RequestID: c.Metadata.RequestID, OccurredAt: occurred,
		},
		Revision: c.Revision, Position: pos, RecordedAt: recorded,
	}
	if !bytes.Equal(Canonical(e), b) {
		return Event{}, fmt.Errorf("%w: event %s is not in canonical form", ErrInvalid, c.ID)
	}
	return e, nil
}
