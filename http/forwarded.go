package ledgerhttp

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientKey identifies an anonymous caller for rate limiting: by its
// address, which behind a trusted reverse proxy is the one the proxy
// recorded (else every anonymous caller would share the proxy's bucket).
func (s *Server) clientKey(r *http.Request) string { return "addr:" + s.clientAddr(r) }

// clientAddr is the caller's address: the peer's, or, when the peer is a
// trusted proxy (Config.TrustedProxies), the nearest address in the
// Forwarded header (RFC 7239; X-Forwarded-For without one) that is not a
// trusted proxy itself. Addresses a proxy wrote as "unknown" or
// obfuscated are used as they are.
func (s *Server) clientAddr(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	addr := peer.Addr().Unmap()
	if !s.trustedProxy(addr) {
		return addr.String()
	}
	hops := forwardedFor(r.Header)
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseNode(hops[i])
		if !ok {
			return hops[i]
		}
		if !s.trustedProxy(a) {
			return a.String()
		}
		addr = a
	}
	return addr.String() // proxies all the way: the farthest one
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor lists the for= nodes of the Forwarded headers, nearest
// last, or the X-Forwarded-For addresses when there is no Forwarded.
func forwardedFor(h http.Header) []string {
	var out []string
	if fs := h.Values("Forwarded"); len(fs) > 0 {
		for _, f := range fs {
			for _, elem := range strings.Split(f, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
					if strings.EqualFold(k, "for") {
						out = append(out, strings.Trim(v, `"`))
					}
				}
			}
		}
		return out
	}
	for _, f := range h.Values("X-Forwarded-For") {
		for _, a := range strings.Split(f, ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
	}
	return out
}

// parseNode reads a node as Forwarded writes it: 192.0.2.1, 192.0.2.1:80,
// [2001:db8::1] or [2001:db8::1]:80 (and a bare IPv6 address, as
// X-Forwarded-For writes it).
func parseNode(n string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(n); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(n, "["), "]"))
	return a.Unmap(), err == nil
}
