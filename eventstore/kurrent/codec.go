package kurrent

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/malmo/participation-ledger/eventstore"
)

// wireMetadata is the Kurrent event's custom metadata: the ledger's
// Metadata fields under their permanent JSON names, plus what Kurrent has no
// field for. $correlationId and $causationId repeat the ids under the names
// KurrentDB's system projections ($by_correlation_id) look for.
type wireMetadata struct {
	eventstore.Metadata
	SchemaVersion int       `json:"schema_version"`
	RecordedAt    time.Time `json:"recorded_at"`
	Correlation   string    `json:"$correlationId,omitempty"`
	Causation     string    `json:"$causationId,omitempty"`
}

// encode returns the Kurrent form of a normalised event.
func encode(e eventstore.Event) (esdb.EventData, error) {
	md, err := json.Marshal(wireMetadata{
		Metadata:      e.Metadata,
		SchemaVersion: e.Version,
		RecordedAt:    e.RecordedAt,
		Correlation:   e.Metadata.CorrelationID,
		Causation:     e.Metadata.CausationID,
	})
	if err != nil {
		return esdb.EventData{}, err
	}
	return esdb.EventData{
		EventID:     e.ID, // never zero (ValidateAppend): the client would replace it with a random one
		EventType:   e.Type,
		ContentType: esdb.ContentTypeJson,
		Data:        e.Data,
		Metadata:    md,
	}, nil
}

// decode turns a stored Kurrent event into a ledger event with Position p,
// removing the namespace from its stream name.
// An event written by something other than the ledger (which a dedicated
// database should not hold) still decodes: schema version 1, recorded at the
// server's creation time.
func decode(r *esdb.RecordedEvent, p eventstore.Position, ns string) eventstore.Event {
	var md wireMetadata
	if err := json.Unmarshal(r.UserMetadata, &md); err != nil || md.SchemaVersion < 1 {
		md = wireMetadata{SchemaVersion: 1}
	}
	if md.RecordedAt.IsZero() {
		md.RecordedAt = r.CreatedDate
	}
	md.RecordedAt = eventstore.TruncateTime(md.RecordedAt)
	if md.OccurredAt.IsZero() {
		md.OccurredAt = md.RecordedAt
	}
	md.Metadata.OccurredAt = eventstore.TruncateTime(md.OccurredAt)
	return eventstore.Event{
		ID:         r.EventID,
		Stream:     strings.TrimPrefix(r.StreamID, ns),
		Type:       r.EventType,
		Version:    md.SchemaVersion,
		Data:       r.Data,
		Metadata:   md.Metadata,
		Revision:   r.EventNumber,
		Position:   p,
		RecordedAt: md.RecordedAt,
	}
}

func toExpected(e eventstore.ExpectedRevision) esdb.ExpectedRevision {
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	}
	if r, ok := e.ExactRevision(); ok {
		return esdb.Revision(r)
	}
	return esdb.Any{}
}

// parseCurrent extracts the stream's current revision from the client's
// WrongExpectedVersion error. Client v4.2.0 keeps the server's structured
// answer only in the message: "wrong expected version: expecting 'E' but
// got 'C'", where C is a revision or no_stream.
func parseCurrent(ee *esdb.Error) (rev uint64, exists, ok bool) {
	if ee.Err() == nil {
		return 0, false, false
	}
	msg := ee.Err().Error()
	const marker = "but got '"
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return 0, false, false
	}
	rest := msg[i+len(marker):]
	j := strings.IndexByte(rest, '\'')
	if j < 0 {
		return 0, false, false
	}
	cur := rest[:j]
	if cur == "no_stream" {
		return 0, false, true
	}
	n, err := strconv.ParseUint(cur, 10, 64)
	if err != nil {
		return 0, false, false
	}
	return n, true, true
}

// code returns the client error code of err (ErrorCodeUnknown when err is
// not a client error).
func code(err error) esdb.ErrorCode {
	var ee *esdb.Error
	if errors.As(err, &ee) {
		return ee.Code()
	}
	return esdb.ErrorCodeUnknown
}

// definite reports whether err is the server's definite refusal, so the
// write certainly did not happen; any other failure of an append is
// ambiguous.
func definite(err error) bool {
	switch code(err) {
	case esdb.ErrorCodeWrongExpectedVersion, esdb.ErrorCodeAccessDenied, esdb.ErrorCodeUnauthenticated,
		esdb.ErrorCodeStreamDeleted, esdb.ErrorCodeNotLeader, esdb.ErrorCodeUnsupportedFeature,
		esdb.ErrorCodeResourceNotFound:
		return true
	}
	return false
}

// transient reports whether retrying the same request may succeed.
func transient(err error) bool {
	switch code(err) {
	case esdb.ErrorCodeDeadlineExceeded, esdb.ErrorUnavailable, esdb.ErrorAborted,
		esdb.ErrorCodeNotLeader, esdb.ErrorCodeConnectionClosed:
		return true
	}
	return false
}

func wrap(op string, err error) error { return fmt.Errorf("kurrent: %s: %w", op, err) }
