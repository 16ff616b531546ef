package ledger

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// RecordedEvent is one event in a participant's data download, with its
// personal fields opened: each sealed field {"subject","sealed"} becomes
// {"subject","text"} or {"subject","disposed":true}.
type RecordedEvent struct {
	Position   eventstore.Position `json:"position"`
	Stream     string              `json:"stream"`
	Revision   uint64              `json:"revision"`
	ID         string              `json:"id"`
	Type       string              `json:"type"`
	Actor      string              `json:"actor"`
	Role       string              `json:"role"`
	OccurredAt time.Time           `json:"occurred_at"`
	RecordedAt time.Time           `json:"recorded_at"`
	Data       json.RawMessage     `json:"data"`
}

// ParticipantData returns everything recorded about participant id, in log
// order: their stream, every event they made or that names them, and every
// event on the items they authored (decisions, answers). Staff reading it
// is itself recorded first (PersonalDataAccessed on access-<actor>), so the
// read cannot happen unrecorded.
//
// It scans the whole log: a data request is rare and must be complete,
// which an index maintained elsewhere could not promise as simply.
func (s *Service) ParticipantData(ctx context.Context, actor domain.Actor, id, purpose string) ([]RecordedEvent, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: participant id required", domain.ErrInvalid)
	}
	if actor.Role == domain.RoleParticipant && actor.ID != id {
		return nil, fmt.Errorf("reading another participant's data: %w", domain.ErrForbidden)
	}
	if _, err := s.store.ReadStream(ctx, domain.StreamForParticipant(id), eventstore.ReadStreamOptions{Limit: 1}); err != nil {
		return nil, fmt.Errorf("participant %q: %w", id, err)
	}
	if actor.Role != domain.RoleParticipant {
		if err := s.RecordAccess(ctx, actor, []string{id}, purpose, "/v1/participants/{id}/data", "", ""); err != nil {
			return nil, err
		}
	}
	own := domain.StreamForParticipant(id)
	quoted := []byte(`"` + id + `"`)
	authored := map[string]bool{}
	var out []RecordedEvent
	var after eventstore.Position
	for {
		evs, err := s.store.ReadAll(ctx, after, 4096)
		if err != nil {
			return nil, fmt.Errorf("ledger: reading the log: %w", err)
		}
		for _, e := range evs {
			if e.Stream != own && e.Metadata.Actor != id && !authored[e.Stream] && !bytes.Contains(e.Data, quoted) {
				continue
			}
			if e.Stream == domain.StreamForAccess(e.Metadata.Actor) && e.Metadata.Actor != id {
				// Staff reads of this participant's data are the staff's
				// records; listing who read it is a separate question.
				continue
			}
			de, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return nil, fmt.Errorf("ledger: decoding position %d: %w", e.Position, err)
			}
			switch v := de.(type) {
			case *domain.SubmissionReceived:
				if v.Author == id {
					authored[e.Stream] = true
				}
			case *domain.CommentPosted:
				if v.Author == id {
					authored[e.Stream] = true
				}
			}
			data, err := s.openJSON(e.Data)
			if err != nil {
				return nil, err
			}
			out = append(out, RecordedEvent{Position: e.Position, Stream: e.Stream, Revision: e.Revision, ID: e.ID.String(),
				Type: e.Type, Actor: e.Metadata.Actor, Role: e.Metadata.Role, OccurredAt: e.Metadata.OccurredAt,
				RecordedAt: e.RecordedAt, Data: data})
		}
		if len(evs) < 4096 {
			return out, nil
		}
		after = evs[len(evs)-1].Position
	}
}

// openJSON replaces each sealed personal field in an event body by its
// plaintext (or a disposed marker).
func (s *Service) openJSON(data []byte) (json.RawMessage, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("ledger: event body: %w", err)
	}
	b, err := json.Marshal(s.openValue(v))
	if err != nil {
		return nil, fmt.Errorf("ledger: event body: %w", err)
	}
	return b, nil
}

func (s *Service) openValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		subject, ok1 := x["subject"].(string)
		sealed, ok2 := x["sealed"].(string)
		if len(x) == 2 && ok1 && ok2 {
			raw, err := base64.StdEncoding.DecodeString(sealed)
			if err != nil {
				return map[string]any{"subject": subject, "disposed": true}
			}
			if len(raw) == 0 {
				return map[string]any{"subject": subject, "text": ""}
			}
			text, disposed := s.Open(domain.Personal{Subject: subject, Sealed: raw})
			if disposed {
				return map[string]any{"subject": subject, "disposed": true}
			}
			return map[string]any{"subject": subject, "text": text}
		}
		for k, e := range x {
			x[k] = s.openValue(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = s.openValue(e)
		}
		return x
	}
	return v
}

// RecordAccess records that actor read the personal data of subjects
// (PersonalDataAccessed on access-<actor>, one event per subject). An access
// record decides nothing and depends on no state, so it is appended with
// expected revision Any, without loading the actor's growing access stream;
// callers record before they answer, so no read goes unrecorded.
func (s *Service) RecordAccess(ctx context.Context, actor domain.Actor, subjects []string, purpose, resource, requestID, correlationID string) error {
	var evs []domain.Event
	for _, subject := range subjects {
		e, err := domain.RecordAccessEvent(domain.RecordAccess{SubjectID: subject, Purpose: purpose, Resource: resource, By: actor})
		if err != nil {
			return err
		}
		evs = append(evs, e...)
	}
	if len(evs) == 0 {
		return nil
	}
	data, err := s.encode(meta{actor: actor, requestID: requestID, correlation: correlationID}, nil, evs)
	if err != nil {
		return err
	}
	start := time.Now()
	_, err = s.store.Append(ctx, domain.StreamForAccess(actor.ID), eventstore.Any(), data...)
	if s.observe != nil {
		s.observe(time.Since(start), len(data), err)
	}
	if err != nil {
		return fmt.Errorf("ledger: recording access: %w", err)
	}
	return nil
}

// ErasureRecord says what became of one erasure request: when it was made
// and decided, on what basis, and for a granted one what was erased and
// when (the participant's data route shows it beside the events).
type ErasureRecord struct {
	RequestID   string     `json:"request_id"`
	RequestedAt time.Time  `json:"requested_at"`
	Outcome     string     `json:"outcome,omitempty"` // granted | refused; empty while undecided
	Basis       string     `json:"basis,omitempty"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	// ErasedAt is when the keys were destroyed (KeysShredded recorded);
	// Erased lists what they sealed: the participant's personal data
	// (name, e-mail, district, age band and other texts sealed for them)
	// and the content of each item they authored.
	ErasedAt *time.Time     `json:"erased_at,omitempty"`
	Erased   []ErasedRecord `json:"erased,omitempty"`
}

// ErasedRecord is one thing a granted erasure removed.
type ErasedRecord struct {
	Kind string `json:"kind"` // personal_data | submission | comment | item
	ID   string `json:"id,omitempty"`
}

// Erasures summarises the erasure requests among a participant's events
// (as ParticipantData returns them), oldest first.
func Erasures(participantID string, evs []RecordedEvent) []ErasureRecord {
	out := []ErasureRecord{}
	byID := map[string]int{}
	kinds := map[string]string{}
	for _, e := range evs {
		var d struct {
			RequestID    string   `json:"request_id"`
			Outcome      string   `json:"outcome"`
			Basis        string   `json:"basis"`
			DecisionID   string   `json:"decision_id"`
			Scope        string   `json:"scope"`
			Subjects     []string `json:"subjects"`
			SubmissionID string   `json:"submission_id"`
			CommentID    string   `json:"comment_id"`
		}
		if json.Unmarshal(e.Data, &d) != nil {
			continue
		}
		switch e.Type {
		case "SubmissionReceived":
			kinds[d.SubmissionID] = "submission"
		case "CommentPosted":
			kinds[d.CommentID] = "comment"
		case "ErasureRequested":
			byID[d.RequestID] = len(out)
			out = append(out, ErasureRecord{RequestID: d.RequestID, RequestedAt: e.OccurredAt})
		case "ErasureDecided":
			if i, ok := byID[d.RequestID]; ok {
				at := e.OccurredAt
				out[i].Outcome, out[i].Basis, out[i].DecidedAt = d.Outcome, d.Basis, &at
			}
		case "KeysShredded":
			i, ok := byID[d.DecisionID]
			if !ok || d.Scope != string(domain.ScopeParticipant) {
				continue // a disposal decision's shredding, not an erasure's
			}
			at := e.RecordedAt
			out[i].ErasedAt = &at
			for _, s := range d.Subjects {
				switch {
				case s == participantID:
					out[i].Erased = append(out[i].Erased, ErasedRecord{Kind: "personal_data"})
				case kinds[s] != "":
					out[i].Erased = append(out[i].Erased, ErasedRecord{Kind: kinds[s], ID: s})
				default:
					out[i].Erased = append(out[i].Erased, ErasedRecord{Kind: "item", ID: s})
				}
			}
		}
	}
	return out
}
