package ledgerhttp

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/ledger"
)

type principalKey struct{}

// principalOf returns the authenticated caller, if any.
func principalOf(ctx context.Context) (ledger.Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(ledger.Principal)
	return p, ok
}

// authenticate resolves a bearer token (a bad one is 401 at once, even on
// public routes, so a client learns its token is wrong) and applies the
// rate limit per token, or per client address without one.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := s.clientKey(r)
		// The pages mounted on this router limit failed sign-ins by the
		// same address (behind a trusted proxy: the client's, not the
		// proxy's).
		r = r.WithContext(auth.WithClientAddr(r.Context(), s.clientAddr(r)))
		if h := r.Header.Get("Authorization"); h != "" {
			// Failed attempts are limited per address before the token is
			// even looked at, so guessing tokens stops at once.
			if wait, blocked := s.cfg.Failures.Blocked(key); blocked {
				writeProblem(w, r, s.log, &rateLimitError{wait: wait})
				return
			}
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				s.cfg.Failures.Fail(key)
				writeProblem(w, r, s.log, errUnauthorized)
				return
			}
			p, err := s.svc.Authenticate(r.Context(), strings.TrimSpace(tok))
			if err != nil {
				if errors.Is(err, ledger.ErrUnauthorized) {
					s.cfg.Failures.Fail(key)
				}
				writeProblem(w, r, s.log, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			key = "token:" + p.TokenID
		} else if s.cfg.Sessions != nil && r.URL.Path == "/v1/me" {
			// Only /v1/me accepts the session cookie: the rest of the API
			// is for tokens, so a cookie never authorizes an API call a
			// third-party page could trigger.
			if p, _, ok := s.cfg.Sessions.Principal(r); ok {
				r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
				key = "session:" + p.Actor().ID
			}
		}
		if err := s.limiter.allow(key); err != nil {
			writeProblem(w, r, s.log, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authorize enforces a route's roles: none listed means public.
func (s *Server) authorize(rt route) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if len(rt.roles) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			p, ok := principalOf(r.Context())
			if !ok {
				writeProblem(w, r, s.log, errUnauthorized)
				return
			}
			if !slices.Contains(rt.roles, p.Role) {
				writeProblem(w, r, s.log, errForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// roles is shorthand for route tables.
func roles(rs ...domain.Role) []domain.Role { return rs }
