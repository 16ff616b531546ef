package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Principal is an authenticated caller: the token's id, name and role, and
// for a participant token the participant it is bound to.
type Principal struct {
	TokenID     string
	Name        string
	Role        domain.Role
	Participant string
}

// Actor is who the principal acts as in event metadata and domain rules:
// a participant acts as their participant id, staff as their token's name.
func (p Principal) Actor() domain.Actor {
	id := p.Name
	if p.Role == domain.RoleParticipant && p.Participant != "" {
		id = p.Participant
	}
	return domain.Actor{ID: id, Role: p.Role}
}

// tokenIndex maps token hashes to principals. It is built from the tokens
// stream and kept current by IssueToken/RevokeToken; tokens issued by
// another process (the `ledger token` command) are picked up by a reload
// when an unknown token is presented, at most once per second.
type tokenIndex struct {
	mu       sync.RWMutex
	byHash   map[string]*tokenEntry
	byID     map[string]*tokenEntry
	next     uint64 // first revision of the tokens stream not yet read
	lastLoad time.Time
}

type tokenEntry struct {
	p       Principal
	hash    string
	revoked bool
}

func (t *tokenIndex) init() {
	t.byHash = map[string]*tokenEntry{}
	t.byID = map[string]*tokenEntry{}
}

// HashToken is how a token is stored: hex SHA-256 of the secret.
func HashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// LoadTokens reads the tokens stream from where the index left off.
func (s *Service) LoadTokens(ctx context.Context) error {
	t := &s.tokens
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastLoad = s.now()
	for {
		evs, err := s.store.ReadStream(ctx, domain.TokensStream, eventstore.ReadStreamOptions{From: t.next, Limit: 1024})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ledger: reading tokens: %w", err)
		}
		for _, e := range evs {
			de, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return fmt.Errorf("ledger: decoding tokens@%d: %w", e.Revision, err)
			}
			t.apply(de)
			t.next = e.Revision + 1
		}
		if len(evs) < 1024 {
			return nil
		}
	}
}

func (t *tokenIndex) apply(ev domain.Event) {
	switch e := ev.(type) {
	case *domain.TokenIssued:
		te := &tokenEntry{hash: e.Hash, p: Principal{TokenID: e.TokenID, Name: e.Name, Role: e.Role, Participant: e.Participant}}
		t.byHash[e.Hash] = te
		t.byID[e.TokenID] = te
	case *domain.TokenRevoked:
		if te := t.byID[e.TokenID]; te != nil {
			te.revoked = true
		}
	}
}

// Authenticate returns the principal of a bearer token, or ErrUnauthorized.
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrUnauthorized
	}
	h := HashToken(token)
	t := &s.tokens
	t.mu.RLock()
	te, stale := t.byHash[h], s.now().Sub(t.lastLoad) > time.Second
	t.mu.RUnlock()
	// Reload at most once a second, also for a known token: a revocation
	// appended by another process (an erasure granted there) then stops
	// the token here within a second.
	if stale {
		if err := s.LoadTokens(ctx); err != nil {
			return Principal{}, err
		}
		t.mu.RLock()
		te = t.byHash[h]
		t.mu.RUnlock()
	}
	if te == nil || te.revoked {
		return Principal{}, ErrUnauthorized
	}
	return te.p, nil
}

// IssueToken is the command to issue a bearer token.
type IssueToken struct {
	Name string
	Role domain.Role
	// Participant binds a participant token to a participant id.
	Participant string
}

// IssueToken issues a token: 32 random bytes, base64url. Only its SHA-256
// is recorded. The secret is in Result.Token of the first answer only; a
// retried request finds the original event and answers without it (revoke
// and issue again if it was lost).
func (s *Service) IssueToken(ctx context.Context, actor domain.Actor, r Request[IssueToken]) (Result, error) {
	m := metaOf(actor, r)
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return Result{}, fmt.Errorf("ledger: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(secret[:])
	id := m.newID("token")
	if r.Command.Role == domain.RoleParticipant && r.Command.Participant != "" {
		// A granted erasure closed the account: no new token opens it.
		p, err := s.load(ctx, domain.StreamForParticipant(r.Command.Participant))
		if err != nil {
			return Result{}, err
		}
		if !p.exists {
			return Result{}, fmt.Errorf("no participant %s: %w", r.Command.Participant, domain.ErrNotFound)
		}
		if st := domain.Fold[domain.Participant](p.events); st.Erased || st.Disposed {
			return Result{}, fmt.Errorf("participant %s's data has been erased or disposed: %w", r.Command.Participant, domain.ErrConflict)
		}
	}
	issued := false
	res, err := s.execute(ctx, m, id, domain.TokensStream, nil, func(cur []domain.Event) ([]domain.Event, error) {
		evs, err := domain.Fold[domain.Tokens](cur).Issue(domain.IssueToken{TokenID: id, Name: r.Command.Name,
			Role: r.Command.Role, Participant: r.Command.Participant, Hash: HashToken(token), By: actor})
		issued = err == nil
		return evs, err
	})
	if err != nil {
		return Result{}, err
	}
	if issued {
		res.Token = token
	}
	if err := s.LoadTokens(ctx); err != nil {
		return res, err
	}
	return res, nil
}

// RevokeToken is the command to revoke a token by id.
type RevokeToken struct {
	TokenID string
	Reason  string
}

// RevokeToken revokes a token; it stops working at once in this process.
func (s *Service) RevokeToken(ctx context.Context, actor domain.Actor, r Request[RevokeToken]) (Result, error) {
	m := metaOf(actor, r)
	res, err := s.execute(ctx, m, r.Command.TokenID, domain.TokensStream, nil, func(cur []domain.Event) ([]domain.Event, error) {
		return domain.Fold[domain.Tokens](cur).Revoke(domain.RevokeToken{TokenID: r.Command.TokenID, Reason: r.Command.Reason, By: actor})
	})
	if err != nil {
		return Result{}, err
	}
	return res, s.LoadTokens(ctx)
}
