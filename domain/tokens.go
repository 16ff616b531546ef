package domain

import "slices"

// Tokens is the state of the "tokens" stream.
type Tokens struct {
	ByID   map[string]*Token
	hashes map[string]string // hash → token id
}

// Token is one issued token.
type Token struct {
	ID          string
	Name        string
	Role        Role
	Participant string
	Hash        string
	Revoked     bool
}

// Apply folds one event into the state.
func (t *Tokens) Apply(ev Event) {
	if t.ByID == nil {
		t.ByID, t.hashes = map[string]*Token{}, map[string]string{}
	}
	switch e := ev.(type) {
	case *TokenIssued:
		t.ByID[e.TokenID] = &Token{ID: e.TokenID, Name: e.Name, Role: e.Role, Participant: e.Participant, Hash: e.Hash}
		t.hashes[e.Hash] = e.TokenID
	case *TokenRevoked:
		if tok := t.ByID[e.TokenID]; tok != nil {
			tok.Revoked = true
		}
	}
}

// IssueToken issues a bearer token; only its hash is recorded.
type IssueToken struct {
	TokenID     string
	Name        string
	Role        Role
	Participant string // required for participant tokens, empty otherwise
	Hash        string // hex SHA-256 of the token
	By          Actor
}

// Issue decides IssueToken.
func (t Tokens) Issue(cmd IssueToken) ([]Event, error) {
	if err := cmd.By.require("issue a token", RoleAdmin); err != nil {
		return nil, err
	}
	if err := checkID("token id", cmd.TokenID); err != nil {
		return nil, err
	}
	if err := checkText("token name", cmd.Name, maxShort); err != nil {
		return nil, err
	}
	if !cmd.Role.Valid() || cmd.Role == RoleSystem {
		return nil, invalidf("role %q cannot hold a token", cmd.Role)
	}
	if cmd.Role == RoleParticipant {
		if err := checkID("participant", cmd.Participant); err != nil {
			return nil, err
		}
	} else if cmd.Participant != "" {
		return nil, invalidf("only a participant token is bound to a participant")
	}
	if !isSHA256Hex(cmd.Hash) {
		return nil, invalidf("token hash is not lower-case hex SHA-256")
	}
	if _, dup := t.ByID[cmd.TokenID]; dup {
		return nil, conflictf("token %s already exists", cmd.TokenID)
	}
	if _, dup := t.hashes[cmd.Hash]; dup {
		return nil, conflictf("a token with this hash already exists")
	}
	return []Event{&TokenIssued{TokenID: cmd.TokenID, Name: cmd.Name, Role: cmd.Role, Participant: cmd.Participant,
		Hash: cmd.Hash, IssuedBy: cmd.By.ID}}, nil
}

// RevokeToken revokes a token.
type RevokeToken struct {
	TokenID string
	Reason  string
	By      Actor
}

// Revoke decides RevokeToken.
func (t Tokens) Revoke(cmd RevokeToken) ([]Event, error) {
	if err := cmd.By.require("revoke a token", RoleAdmin); err != nil {
		return nil, err
	}
	tok := t.ByID[cmd.TokenID]
	if tok == nil {
		return nil, notFoundf("token %q does not exist", cmd.TokenID)
	}
	if tok.Revoked {
		return nil, conflictf("token %s is already revoked", cmd.TokenID)
	}
	if err := checkOptionalText("reason", cmd.Reason, maxLong); err != nil {
		return nil, err
	}
	return []Event{&TokenRevoked{TokenID: cmd.TokenID, Reason: cmd.Reason, RevokedBy: cmd.By.ID}}, nil
}

// RevokeParticipant revokes every live token bound to a participant, as a
// granted erasure requires (their account closes with it). It returns no
// events when none is live, so a retried request appends nothing twice.
func (t Tokens) RevokeParticipant(participantID, reason string, by Actor) ([]Event, error) {
	if err := by.require("revoke a participant's tokens", RoleAdmin); err != nil {
		return nil, err
	}
	if err := checkOptionalText("reason", reason, maxLong); err != nil {
		return nil, err
	}
	var ids []string
	for id, tok := range t.ByID {
		if tok.Participant == participantID && !tok.Revoked {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids) // map order must not decide the event order
	evs := make([]Event, 0, len(ids))
	for _, id := range ids {
		evs = append(evs, &TokenRevoked{TokenID: id, Reason: reason, RevokedBy: by.ID})
	}
	return evs, nil
}
