package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Link finds the participant a resident's provider identity belongs to,
// without the log ever holding the provider's subject (for a Swedish eID
// broker often the personnummer): the participant id is a keyed hash of
// (issuer, subject), so signing in again arrives at the same participant
// and nobody without the key can go from an id back to the person.
//
// After an erasure or disposal the participant is gone for good; the next
// generation of the hash gives the person a fresh participant.
type Link struct {
	key   []byte
	store eventstore.Store
}

// maxGenerations bounds how often one person can be erased and return.
const maxGenerations = 64

// NewLink keys the hash with key (32 bytes from the data directory; losing
// it unlinks every resident from their participant).
func NewLink(key []byte, store eventstore.Store) (*Link, error) {
	if len(key) < 32 {
		return nil, errors.New("auth: the link key must be at least 32 bytes")
	}
	return &Link{key: key, store: store}, nil
}

// participantID is generation gen of the id of (issuer, subject): a UUID
// made of the first 16 bytes of HMAC-SHA256, like the ledger's own ids.
func (l *Link) participantID(issuer, subject string, gen int) string {
	m := hmac.New(sha256.New, l.key)
	fmt.Fprintf(m, "participant\x00%s\x00%s\x00%d", issuer, subject, gen)
	var u uuid.UUID
	copy(u[:], m.Sum(nil))
	u[6] = u[6]&0x0f | 0x80 // version 8: custom
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}

// Find returns the participant id of the identity and its state; the state
// does not Exist yet on a first sign-in.
func (l *Link) Find(ctx context.Context, issuer, subject string) (string, domain.Participant, error) {
	for gen := range maxGenerations {
		id := l.participantID(issuer, subject, gen)
		p, err := Participant(ctx, l.store, id)
		if err != nil {
			return "", p, err
		}
		if !p.Exists || !p.Erased && !p.Disposed {
			return id, p, nil
		}
	}
	return "", domain.Participant{}, fmt.Errorf("auth: %d participants of one identity erased: %w", maxGenerations, domain.ErrConflict)
}

// Participant folds participant id's stream (not existing: the zero state).
func Participant(ctx context.Context, store eventstore.Store, id string) (domain.Participant, error) {
	var evs []domain.Event
	from := uint64(0)
	for {
		page, err := store.ReadStream(ctx, domain.StreamForParticipant(id), eventstore.ReadStreamOptions{From: from, Limit: 1024})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			break
		}
		if err != nil {
			return domain.Participant{}, fmt.Errorf("auth: reading participant %s: %w", id, err)
		}
		for _, e := range page {
			de, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return domain.Participant{}, fmt.Errorf("auth: decoding participant %s@%d: %w", id, e.Revision, err)
			}
			evs = append(evs, de)
			from = e.Revision + 1
		}
		if len(page) < 1024 {
			break
		}
	}
	p := domain.Fold[domain.Participant](evs)
	p.ID = id
	return p, nil
}
