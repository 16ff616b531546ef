package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"sync"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

// Session is one signed-in browser, held server-side; the cookie carries
// only a random id. Page handlers read it through Sessions.Get:
//
//   - Principal.Role is who they act as (participant, or a staff role);
//   - Principal.Participant and Pseudonym are set for residents;
//   - Principal.Name is the staff member's username (residents: their
//     participant id), the actor id in event metadata;
//   - CSRF is the token every form of this session carries (CheckCSRF).
//
// A resident who signed in but has not yet chosen a pseudonym has
// Pending set and no role: they may only finish signing up.
type Session struct {
	Principal ledger.Principal
	Pseudonym string
	CSRF      string
	// Provider is the OpenID provider signed in through ("" for a bearer
	// token pasted into the staff login).
	Provider string
	Pending  *Pending
	Created  time.Time
	LastSeen time.Time
	Expires  time.Time // absolute: sign in again after this

	id      string // the cookie value; only its hash keys the map
	idToken string // hint for ending the session at the provider
}

// Pending is a resident's first sign-in, waiting for their choices. Name
// and e-mail stay in memory until they are sealed into the registration.
type Pending struct {
	Participant string
	Name        string
	Email       string
}

// Resident reports whether the session is a registered participant.
func (s Session) Resident() bool {
	return s.Principal.Role == domain.RoleParticipant && s.Principal.Participant != ""
}

// Actor is who the session acts as in commands.
func (s Session) Actor() domain.Actor { return s.Principal.Actor() }

// IDToken is the provider's ID token of the sign-in, for ending the
// session at the provider.
func (s Session) IDToken() string { return s.idToken }

// SessionConfig sets lifetimes and cookie flags.
type SessionConfig struct {
	// Idle ends a session unused this long (default 30 minutes).
	Idle time.Duration
	// Max is the absolute lifetime of a resident's session (default 8 h).
	Max time.Duration
	// StaffMax is the absolute lifetime of a staff session (default 10
	// minutes): after it the staff member signs in again and the role
	// claim is read afresh, so a removed group takes effect.
	StaffMax time.Duration
	// Secure marks cookies Secure even when the request did not arrive
	// over TLS (TLS ends at a proxy).
	Secure bool
	Now    func() time.Time
}

// Sessions is the server-side session store. It is in memory: a restart
// signs everyone out, which is the safe direction.
type Sessions struct {
	cfg SessionConfig

	mu   sync.Mutex
	byID map[string]*Session // by hash of the id
}

// Cookie is the session cookie's name.
const Cookie = "ledger_session"

const maxSessions = 200_000

// NewSessions returns an empty store.
func NewSessions(cfg SessionConfig) *Sessions {
	if cfg.Idle <= 0 {
		cfg.Idle = 30 * time.Minute
	}
	if cfg.Max <= 0 {
		cfg.Max = 8 * time.Hour
	}
	if cfg.StaffMax <= 0 {
		cfg.StaffMax = 10 * time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sessions{cfg: cfg, byID: map[string]*Session{}}
}

func hashID(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

// Secure reports whether cookies set in answer to r are marked Secure.
func (s *Sessions) Secure(r *http.Request) bool { return s.cfg.Secure || r.TLS != nil }

// Start begins a session for sess (Principal, Pseudonym, Provider,
// Pending) with a fresh id and CSRF token, sets the cookie, and ends the
// session the request came with, if any (no fixation across sign-ins).
func (s *Sessions) Start(w http.ResponseWriter, r *http.Request, sess Session, idToken string) Session {
	s.end(r)
	now := s.cfg.Now()
	sess.id, sess.idToken, sess.CSRF = random(), idToken, random()
	sess.Created, sess.LastSeen = now, now
	sess.Expires = now.Add(s.cfg.Max)
	if sess.Principal.Role != domain.RoleParticipant && sess.Pending == nil {
		sess.Expires = now.Add(s.cfg.StaffMax)
	}
	s.mu.Lock()
	if len(s.byID) >= maxSessions {
		s.sweep(now)
	}
	cp := sess
	s.byID[hashID(sess.id)] = &cp
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: Cookie, Value: sess.id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.Secure(r)})
	return sess
}

// Get returns the request's live session and marks it used. An expired
// one (idle or absolute) is removed.
func (s *Sessions) Get(r *http.Request) (Session, bool) {
	c, err := r.Cookie(Cookie)
	if err != nil || c.Value == "" {
		return Session{}, false
	}
	now := s.cfg.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	k := hashID(c.Value)
	sess := s.byID[k]
	if sess == nil {
		return Session{}, false
	}
	if now.After(sess.Expires) || now.Sub(sess.LastSeen) > s.cfg.Idle {
		delete(s.byID, k)
		return Session{}, false
	}
	sess.LastSeen = now
	return *sess, true
}

// Update changes the request's session in place (a pending resident who
// has registered); it reports false when there is none.
func (s *Sessions) Update(r *http.Request, f func(*Session)) bool {
	c, err := r.Cookie(Cookie)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.byID[hashID(c.Value)]
	if sess == nil {
		return false
	}
	f(sess)
	return true
}

// End ends the request's session at the ledger and clears the cookie; it
// returns the ended session (for signing out at the provider).
func (s *Sessions) End(w http.ResponseWriter, r *http.Request) (Session, bool) {
	sess, ok := s.end(r)
	http.SetCookie(w, &http.Cookie{Name: Cookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.Secure(r), MaxAge: -1})
	return sess, ok
}

func (s *Sessions) end(r *http.Request) (Session, bool) {
	c, err := r.Cookie(Cookie)
	if err != nil || c.Value == "" {
		return Session{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := hashID(c.Value)
	sess := s.byID[k]
	delete(s.byID, k)
	if sess == nil {
		return Session{}, false
	}
	return *sess, true
}

// EndParticipant ends every session of a participant (after erasure or
// disposal) and returns how many there were.
func (s *Sessions) EndParticipant(participantID string) int {
	return s.endWhere(func(sess *Session) bool {
		return sess.Principal.Participant == participantID ||
			sess.Pending != nil && sess.Pending.Participant == participantID
	})
}

// EndToken ends every session opened with bearer token id (revoked).
func (s *Sessions) EndToken(tokenID string) int {
	return s.endWhere(func(sess *Session) bool { return tokenID != "" && sess.Principal.TokenID == tokenID })
}

func (s *Sessions) endWhere(match func(*Session) bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, sess := range s.byID {
		if match(sess) {
			delete(s.byID, k)
			n++
		}
	}
	return n
}

func (s *Sessions) sweep(now time.Time) {
	for k, sess := range s.byID {
		if now.After(sess.Expires) || now.Sub(sess.LastSeen) > s.cfg.Idle {
			delete(s.byID, k)
		}
	}
}

// CheckCSRF reports whether the form posted with r carries the session's
// CSRF token (field "csrf").
func CheckCSRF(r *http.Request, sess Session) bool {
	got := r.PostFormValue("csrf")
	return sess.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) == 1
}

// Principal is the request's session as the API sees it: the principal
// and the pseudonym; a resident still signing up has none.
func (s *Sessions) Principal(r *http.Request) (ledger.Principal, string, bool) {
	sess, ok := s.Get(r)
	if !ok || sess.Pending != nil || sess.Principal.Role == "" {
		return ledger.Principal{}, "", false
	}
	return sess.Principal, sess.Pseudonym, true
}
