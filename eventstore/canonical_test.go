package eventstore

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func sampleEvent() Event {
	return Event{
		ID:       uuid.MustParse("0b7e4c1e-5a43-4d6b-9a38-2a8e4e6b1f10"),
		Stream:   "submission-42",
		Type:     "SubmissionReceived",
		Version:  1,
		Data:     []byte(`{"title":{"subject":"submission-42","sealed":"AAEC"},"channel":"paper","note":"<&>"}`),
		Revision: 3,
		Position: 17,
		Metadata: Metadata{
			Actor: "staff-9", Role: "intake", CorrelationID: "req-1",
			OccurredAt: time.Date(2024, 9, 9, 8, 0, 0, 0, time.UTC),
		},
		RecordedAt: time.Date(2026, 11, 23, 9, 31, 18, 123456000, time.UTC),
	}
}

// TestCanonicalGolden pins the canonical bytes: they are hashed into the
// Merkle log, so any change here breaks every existing proof.
func TestCanonicalGolden(t *testing.T) {
	got := string(Canonical(sampleEvent()))
	want := `{"id":"0b7e4c1e-5a43-4d6b-9a38-2a8e4e6b1f10","stream":"submission-42","revision":3,"type":"SubmissionReceived","version":1,"recorded_at":"2026-11-23T09:31:18.123456Z","metadata":{"actor":"staff-9","role":"intake","correlation_id":"req-1","occurred_at":"2024-09-09T08:00:00.000000Z"},"data":{"title":{"subject":"submission-42","sealed":"AAEC"},"channel":"paper","note":"<&>"}}`
	require.Equal(t, want, got)
}

func TestParseCanonicalRoundTrip(t *testing.T) {
	e := sampleEvent()
	b := Canonical(e)
	got, err := ParseCanonical(b, 17)
	require.NoError(t, err)
	require.Equal(t, e, got)
	require.Equal(t, b, Canonical(got))
}

func TestParseCanonicalRejectsNonCanonical(t *testing.T) {
	b := Canonical(sampleEvent())
	for name, mutate := range map[string]func([]byte) []byte{
		"space": func(b []byte) []byte { return bytes.Replace(b, []byte(`"revision":3`), []byte(`"revision": 3`), 1) },
		"reordered": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"revision":3,"type":"SubmissionReceived"`), []byte(`"type":"SubmissionReceived","revision":3`), 1)
		},
		"time precision": func(b []byte) []byte { return bytes.Replace(b, []byte(`.123456Z`), []byte(`.123Z`), 1) },
		"unknown field":  func(b []byte) []byte { return bytes.Replace(b, []byte(`{"id"`), []byte(`{"x":1,"id"`), 1) },
		"truncated":      func(b []byte) []byte { return b[:len(b)-1] },
		"empty metadata": func(b []byte) []byte { return bytes.Replace(b, []byte(`"role":"intake",`), []byte(`"role":"",`), 1) },
		"escaped differs": func(b []byte) []byte {
			return bytes.Replace(b, []byte(`submission-42","revision"`), []byte(`submission\u002d42","revision"`), 1)
		},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCanonical(mutate(bytes.Clone(b)), 17)
			require.True(t, errors.Is(err, ErrInvalid), "got %v", err)
		})
	}
}

func TestValidateAppend(t *testing.T) {
	ok := EventData{ID: uuid.New(), Type: "T", Version: 1, Data: []byte(`{}`)}
	require.NoError(t, ValidateAppend("s-1", Any(), []EventData{ok}))
	for name, c := range map[string]struct {
		stream string
		exp    ExpectedRevision
		ev     func(EventData) EventData
	}{
		"empty stream":  {"", Any(), nil},
		"system stream": {"$all", Any(), nil},
		"space":         {"a b", Any(), nil},
		"zero expected": {"s", ExpectedRevision{}, nil},
		"zero id":       {"s", Any(), func(e EventData) EventData { e.ID = uuid.Nil; return e }},
		"no type":       {"s", Any(), func(e EventData) EventData { e.Type = ""; return e }},
		"version 0":     {"s", Any(), func(e EventData) EventData { e.Version = 0; return e }},
		"not json":      {"s", Any(), func(e EventData) EventData { e.Data = []byte(`{`); return e }},
		"newline":       {"s", Any(), func(e EventData) EventData { e.Data = []byte("{\n}"); return e }},
		"oversize":      {"s", Any(), func(e EventData) EventData { e.Data = make([]byte, 16<<20+1); return e }},
	} {
		t.Run(name, func(t *testing.T) {
			e := ok
			if c.ev != nil {
				e = c.ev(e)
			}
			require.ErrorIs(t, ValidateAppend(c.stream, c.exp, []EventData{e}), ErrInvalid)
		})
	}
	require.ErrorIs(t, ValidateAppend("s", Any(), nil), ErrInvalid)
	require.ErrorIs(t, ValidateAppend("s", Any(), []EventData{ok, ok}), ErrInvalid, "repeated id")
}

func FuzzParseCanonical(f *testing.F) {
	f.Add(Canonical(sampleEvent()))
	f.Add([]byte(`{"id":"00000000-0000-0000-0000-000000000001","stream":"s","revision":0,"type":"T","version":1,"recorded_at":"2026-01-01T00:00:00.000000Z","metadata":{"occurred_at":"2026-01-01T00:00:00.000000Z"},"data":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := ParseCanonical(b, 1)
		if err != nil {
			return
		}
		// Whatever parses is canonical: re-encoding gives the input back.
		if !bytes.Equal(Canonical(e), b) {
			t.Fatalf("parsed but not canonical: %q", b)
		}
		if bytes.ContainsAny(b, "\n\r") {
			t.Fatalf("canonical bytes with a line break: %q", b)
		}
	})
}

// TestParseCanonicalFastPathAgrees checks the hand-written fast path
// against the encoding/json reference on events that take each branch:
// plain, escaped (the fast path gives up), optional metadata left out,
// unicode and HTML characters.
func TestParseCanonicalFastPathAgrees(t *testing.T) {
	plain := sampleEvent()
	escaped := sampleEvent()
	escaped.Stream, escaped.Metadata.Actor = `sub"mission<&>`, "åsa\u2028"
	bare := sampleEvent()
	bare.Metadata = Metadata{OccurredAt: bare.Metadata.OccurredAt}
	for name, e := range map[string]Event{"plain": plain, "escaped": escaped, "bare": bare} {
		b := Canonical(e)
		fast, ok := parseCanonicalFast(b, e.Position)
		slow, err := parseCanonicalJSON(b, e.Position)
		require.NoError(t, err, name)
		require.Equal(t, e, slow, name)
		if name != "escaped" {
			require.True(t, ok, "%s takes the fast path", name)
			require.Equal(t, slow, fast, name)
		}
		got, err := ParseCanonical(b, e.Position)
		require.NoError(t, err, name)
		require.Equal(t, e, got, name)
	}
	// Data that is not JSON is refused by both, though the layout is right.
	b := bytes.Replace(Canonical(plain), []byte(`"data":{`), []byte(`"data":{{`), 1)
	_, ok := parseCanonicalFast(b, 1)
	require.False(t, ok)
	_, err := ParseCanonical(b, 1)
	require.ErrorIs(t, err, ErrInvalid)
}

// FuzzParseCanonicalPaths: the fast path accepts nothing the reference
// parser refuses, and decodes what it accepts to the same event.
func FuzzParseCanonicalPaths(f *testing.F) {
	f.Add(Canonical(sampleEvent()))
	f.Add([]byte(`{"id":"00000000-0000-0000-0000-000000000001","stream":"s","revision":0,"type":"T","version":1,"recorded_at":"2026-01-01T00:00:00.000000Z","metadata":{"occurred_at":"2026-01-01T00:00:00.000000Z"},"data":{}}`))
	f.Add([]byte(`{"id":"00000000-0000-0000-0000-000000000001","stream":"s","revision":0,"type":"T","version":1,"recorded_at":"2026-01-01T00:00:00.000000Z","metadata":{"actor":"a","request_id":"r","occurred_at":"2026-01-01T00:00:00.000000Z"},"data":[1,"x"]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := parseCanonicalFast(b, 1)
		slow, err := parseCanonicalJSON(b, 1)
		if ok && err != nil {
			t.Fatalf("fast path accepts what the reference refuses (%v): %q", err, b)
		}
		if ok && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("paths disagree on %q:\n%+v\n%+v", b, fast, slow)
		}
	})
}

func BenchmarkParseCanonical(b *testing.B) {
	e := sampleEvent()
	e.Data = bytes.Repeat([]byte(`{"k":"0123456789abcdef0123456789abcdef"}`), 1)
	enc := Canonical(e)
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, err := ParseCanonical(enc, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if _, err := parseCanonicalJSON(enc, 1); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestFastPathRefusesNearMisses: bytes one step from canonical are refused
// by the fast path and then by ParseCanonical.
func TestFastPathRefusesNearMisses(t *testing.T) {
	b := Canonical(sampleEvent())
	for name, mutate := range map[string]func([]byte) []byte{
		"leading zero":      func(b []byte) []byte { return bytes.Replace(b, []byte(`"revision":3`), []byte(`"revision":03`), 1) },
		"upper-case id":     func(b []byte) []byte { return bytes.Replace(b, []byte(`0b7e4c1e`), []byte(`0B7E4C1E`), 1) },
		"space before data": func(b []byte) []byte { return bytes.Replace(b, []byte(`"data":{`), []byte(`"data": {`), 1) },
		"unescaped <":       func(b []byte) []byte { return bytes.Replace(b, []byte(`"staff-9"`), []byte(`"staff<9"`), 1) },
		"empty actor":       func(b []byte) []byte { return bytes.Replace(b, []byte(`"staff-9"`), []byte(`""`), 1) },
		"day 31 of Feb":     func(b []byte) []byte { return bytes.Replace(b, []byte(`2024-09-09`), []byte(`2024-02-31`), 1) },
		"trailing byte":     func(b []byte) []byte { return append(b, ' ') },
	} {
		t.Run(name, func(t *testing.T) {
			m := mutate(bytes.Clone(b))
			_, ok := parseCanonicalFast(m, 1)
			require.False(t, ok)
			_, err := ParseCanonical(m, 1)
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}
