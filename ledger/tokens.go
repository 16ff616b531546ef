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
	if te == nil && stale {
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
	issued := false
	res, err := s.execute(ctx, m, id, domain.TokensStream, nil, func(cur []domain.Event) ([]domain.Event, error) {
		if err := checkIssue(cur, actor, r.Command); err != nil {
			return nil, err
		}
		issued = true
		return []domain.Event{&domain.TokenIssued{TokenID: id, Name: r.Command.Name, Role: r.Command.Role,
			Participant: r.Command.Participant, Hash: HashToken(token), IssuedBy: actor.ID}}, nil
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
		if actor.Role != domain.RoleAdmin {
			return nil, fmt.Errorf("revoking a token: %w", domain.ErrForbidden)
		}
		known, revoked := false, false
		for _, ev := range cur {
			switch e := ev.(type) {
			case *domain.TokenIssued:
				known = known || e.TokenID == r.Command.TokenID
			case *domain.TokenRevoked:
				revoked = revoked || e.TokenID == r.Command.TokenID
			}
		}
		switch {
		case !known:
			return nil, fmt.Errorf("token %q: %w", r.Command.TokenID, domain.ErrNotFound)
		case revoked:
			return nil, fmt.Errorf("token %q is already revoked: %w", r.Command.TokenID, domain.ErrConflict)
		}
		return []domain.Event{&domain.TokenRevoked{TokenID: r.Command.TokenID, Reason: r.Command.Reason, RevokedBy: actor.ID}}, nil
	})
	if err != nil {
		return Result{}, err
	}
	return res, s.LoadTokens(ctx)
}

// checkIssue holds the rules for issuing a token. Tokens are access
// control, not participation, so their rules live here rather than in the
// domain package.
func checkIssue(cur []domain.Event, actor domain.Actor, c IssueToken) error {
	switch {
	case actor.Role != domain.RoleAdmin:
		return fmt.Errorf("issuing a token: %w", domain.ErrForbidden)
	case c.Name == "" || len(c.Name) > 200:
		return fmt.Errorf("%w: token name must be 1–200 bytes", domain.ErrInvalid)
	case !c.Role.Valid() || c.Role == domain.RoleSystem:
		return fmt.Errorf("%w: unknown role %q", domain.ErrInvalid, c.Role)
	case c.Role == domain.RoleParticipant && c.Participant == "":
		return fmt.Errorf("%w: a participant token needs the participant id", domain.ErrInvalid)
	case c.Role != domain.RoleParticipant && c.Participant != "":
		return fmt.Errorf("%w: only participant tokens are bound to a participant", domain.ErrInvalid)
	}
	return nil
}
