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
	if plainASCII(s) {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

// plainASCII reports whether encoding/json writes s quoted but otherwise
// unchanged: printable ASCII without the characters it escapes. Stream
// names, types and ids almost always are.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
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
//
// Reading the log is mostly this, so the usual case takes a fast path: a
// scan for the fixed layout that checks each part is in its one canonical
// form (printable ASCII strings that need no escaping, no leading zeros,
// times that format back to themselves, Data valid JSON) and gives up,
// leaving the decision to encoding/json and re-encoding, at anything
// unusual, such as an escaped string. FuzzParseCanonicalPaths checks that
// the fast path accepts nothing the slow one refuses.
func ParseCanonical(b []byte, pos Position) (Event, error) {
	if e, ok := parseCanonicalFast(b, pos); ok {
		return e, nil
	}
	return parseCanonicalJSON(b, pos)
}

// parseCanonicalFast parses the canonical layout by hand; ok is false when
// b is not canonical or merely unusual.
func parseCanonicalFast(b []byte, pos Position) (e Event, ok bool) {
	p := canonParser{b: b, ok: true}
	p.lit(`{"id":"`)
	if !p.ok || len(p.b) < 36 {
		return Event{}, false
	}
	if !canonicalUUID(p.b[:36]) {
		return Event{}, false
	}
	id, err := uuid.ParseBytes(p.b[:36])
	if err != nil {
		return Event{}, false
	}
	p.b = p.b[36:]
	e.ID = id
	p.lit(`","stream":`)
	e.Stream = p.str()
	p.lit(`,"revision":`)
	e.Revision = p.uint()
	p.lit(`,"type":`)
	e.Type = p.str()
	p.lit(`,"version":`)
	e.Version = int(p.uint())
	p.lit(`,"recorded_at":`)
	e.RecordedAt = p.time()
	p.lit(`,"metadata":{`)
	m := &e.Metadata
	for _, f := range [...]struct {
		key string
		v   *string
	}{
		{`"actor":`, &m.Actor}, {`"role":`, &m.Role}, {`"correlation_id":`, &m.CorrelationID},
		{`"causation_id":`, &m.CausationID}, {`"request_id":`, &m.RequestID},
	} {
		if p.ok && bytes.HasPrefix(p.b, []byte(f.key)) {
			p.b = p.b[len(f.key):]
			if *f.v = p.str(); *f.v == "" {
				p.fail() // empty members are left out
			}
			p.lit(`,`)
		}
	}
	p.lit(`"occurred_at":`)
	m.OccurredAt = p.time()
	p.lit(`},"data":`)
	if !p.ok || len(p.b) < 2 || p.b[len(p.b)-1] != '}' {
		return Event{}, false
	}
	data := p.b[:len(p.b)-1]
	// Data is the JSON value verbatim, so it must be one (whitespace
	// around it would not survive the slow path's decoding).
	if isSpace(data[0]) || isSpace(data[len(data)-1]) || bytes.ContainsAny(data, "\r\n") || !json.Valid(data) {
		return Event{}, false
	}
	e.Data = bytes.Clone(data)
	e.Position = pos
	return e, true
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// canonicalUUID reports whether u is a lower-case hyphenated UUID.
func canonicalUUID(u []byte) bool {
	for i, c := range u {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// canonParser consumes b from the front; ok turns false at the first
// surprise and stays false.
type canonParser struct {
	b  []byte
	ok bool
}

func (p *canonParser) lit(s string) {
	if !p.ok || !bytes.HasPrefix(p.b, []byte(s)) {
		p.fail()
		return
	}
	p.b = p.b[len(s):]
}

func (p *canonParser) fail() { p.ok, p.b = false, nil }

// str reads a JSON string without escapes.
func (p *canonParser) str() string {
	if !p.ok || len(p.b) == 0 || p.b[0] != '"' {
		p.fail()
		return ""
	}
	i := bytes.IndexByte(p.b[1:], '"')
	if i < 0 || bytes.IndexByte(p.b[1:1+i], '\\') >= 0 {
		p.fail()
		return ""
	}
	s := string(p.b[1 : 1+i])
	if !plainASCII(s) {
		// Escapes and non-ASCII: the slow path knows encoding/json's rules.
		p.fail()
		return ""
	}
	p.b = p.b[2+i:]
	return s
}

// uint reads a decimal integer.
func (p *canonParser) uint() uint64 {
	i := 0
	for i < len(p.b) && i < 20 && p.b[i] >= '0' && p.b[i] <= '9' {
		i++
	}
	if !p.ok || i == 0 || (i > 1 && p.b[0] == '0') {
		p.fail()
		return 0
	}
	n, err := strconv.ParseUint(string(p.b[:i]), 10, 64)
	if err != nil || n > 1<<62 {
		p.fail()
		return 0
	}
	p.b = p.b[i:]
	return n
}

// time reads a quoted time in the canonical layout.
func (p *canonParser) time() time.Time {
	const n = len(`"2006-01-02T15:04:05.000000Z"`)
	if !p.ok || len(p.b) < n {
		p.fail()
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, string(p.b[1:n-1]))
	var buf [n]byte
	if err != nil || p.b[0] != '"' || p.b[n-1] != '"' || !bytes.Equal(t.AppendFormat(buf[:0], timeLayout), p.b[1:n-1]) {
		p.fail()
		return time.Time{}
	}
	p.b = p.b[n:]
	return t
}

// parseCanonicalJSON is the reference parser: encoding/json, then the
// same re-encoding check.
func parseCanonicalJSON(b []byte, pos Position) (Event, error) {
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
