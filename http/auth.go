package ledgerhttp

import (
	"context"
	"net/http"
	"slices"
	"strings"

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
		if h := r.Header.Get("Authorization"); h != "" {
			tok, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				writeProblem(w, r, s.log, errUnauthorized)
				return
			}
			p, err := s.svc.Authenticate(r.Context(), strings.TrimSpace(tok))
			if err != nil {
				writeProblem(w, r, s.log, err)
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			key = "token:" + p.TokenID
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
