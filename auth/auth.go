// Package auth is the ledger's front door for people in a browser: an OpenID
// Connect relying party (residents through the municipality's eID broker,
// staff through the staff directory), server-side sessions, the keyed link
// from a provider's subject to a participant, and a loopback-only
// development OpenID provider for the demo.
package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/malmo/participation-ledger/domain"
)

// Kind says who signs in through a provider.
type Kind string

// Kinds of provider.
const (
	// Residents sign in with e-legitimation (BankID, Freja eID) through
	// the municipality's broker; the first sign-in registers a participant.
	Residents Kind = "resident"
	// Staff sign in through the staff directory; their role comes from a
	// claim at every sign-in.
	Staff Kind = "staff"
)

// ProviderConfig is one configured OpenID provider.
type ProviderConfig struct {
	Name         string // short, in URLs: /signin/{name}
	Label        string // shown on the sign-in button ("BankID / Freja eID")
	Kind         Kind
	Issuer       string
	ClientID     string
	ClientSecret string // read from a file by the command line, never a flag value
	RedirectURL  string // {base}/signin/{name}/callback, registered at the provider
	Scopes       []string
	// NameClaim and EmailClaim name the claims sealed into the participant's
	// personal data (residents); empty leaves them out.
	NameClaim  string
	EmailClaim string
	// UsernameClaim names the staff member in event metadata (default
	// preferred_username).
	UsernameClaim string
	// RoleClaim holds group or role names (a string or a list); Roles maps
	// them to ledger roles. The first listed mapping that matches wins.
	RoleClaim string
	Roles     []RoleMapping
}

// RoleMapping maps one group name to a ledger role.
type RoleMapping struct {
	Group string
	Role  domain.Role
}

// staffRoles are the roles a claim may grant.
var staffRoles = []domain.Role{domain.RoleOfficial, domain.RoleModerator, domain.RoleAuditor,
	domain.RoleResearcher, domain.RoleAdmin, domain.RoleIntake, domain.RoleElected}

// ParseProvider reads a provider from space-separated key=value pairs, the
// form of --oidc and LEDGER_OIDC:
//
//	name=eid kind=resident issuer=https://id.example/ client_id=ledger
//	client_secret_file=/run/secrets/eid redirect_url=https://ledger.example/signin/eid/callback
//	scopes=openid,profile name_claim=name email_claim=email label=BankID
//	role_claim=groups roles=ledger-moderators:moderator,ledger-officials:official
//
// readFile reads client_secret_file (nil: the key is refused).
func ParseProvider(spec string, readFile func(string) ([]byte, error)) (ProviderConfig, error) {
	c := ProviderConfig{Scopes: []string{oidc.ScopeOpenID}, UsernameClaim: "preferred_username"}
	for _, f := range strings.Fields(spec) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || v == "" {
			return c, fmt.Errorf("oidc provider: %q is not key=value", f)
		}
		switch k {
		case "name":
			c.Name = v
		case "label":
			c.Label = strings.ReplaceAll(v, "_", " ")
		case "kind":
			c.Kind = Kind(v)
		case "issuer":
			c.Issuer = v
		case "client_id":
			c.ClientID = v
		case "client_secret_file":
			if readFile == nil {
				return c, errors.New("oidc provider: client_secret_file is not allowed here")
			}
			b, err := readFile(v)
			if err != nil {
				return c, fmt.Errorf("oidc provider %s: reading the client secret: %w", c.Name, err)
			}
			c.ClientSecret = strings.TrimSpace(string(b))
		case "redirect_url":
			c.RedirectURL = v
		case "scopes":
			c.Scopes = strings.Split(v, ",")
		case "name_claim":
			c.NameClaim = v
		case "email_claim":
			c.EmailClaim = v
		case "username_claim":
			c.UsernameClaim = v
		case "role_claim":
			c.RoleClaim = v
		case "roles":
			for _, m := range strings.Split(v, ",") {
				g, r, ok := strings.Cut(m, ":")
				if !ok {
					return c, fmt.Errorf("oidc provider: role mapping %q is not group:role", m)
				}
				c.Roles = append(c.Roles, RoleMapping{Group: g, Role: domain.Role(r)})
			}
		default:
			return c, fmt.Errorf("oidc provider: unknown key %q", k)
		}
	}
	return c, c.check()
}

func (c ProviderConfig) check() error {
	if c.Name == "" || strings.ContainsAny(c.Name, "/?#% ") {
		return fmt.Errorf("oidc provider: name %q must be a short word", c.Name)
	}
	if c.Kind != Residents && c.Kind != Staff {
		return fmt.Errorf("oidc provider %s: kind %q is not resident or staff", c.Name, c.Kind)
	}
	for what, v := range map[string]string{"issuer": c.Issuer, "redirect_url": c.RedirectURL} {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
			return fmt.Errorf("oidc provider %s: %s %q is not an http(s) URL", c.Name, what, v)
		}
	}
	if c.ClientID == "" {
		return fmt.Errorf("oidc provider %s: client_id is required", c.Name)
	}
	if !slices.Contains(c.Scopes, oidc.ScopeOpenID) {
		return fmt.Errorf("oidc provider %s: scopes must include openid", c.Name)
	}
	if c.Kind == Staff {
		if c.RoleClaim == "" || len(c.Roles) == 0 {
			return fmt.Errorf("oidc provider %s: staff providers need role_claim and roles", c.Name)
		}
		for _, m := range c.Roles {
			if !slices.Contains(staffRoles, m.Role) {
				return fmt.Errorf("oidc provider %s: %q is not a staff role (%v)", c.Name, m.Role, staffRoles)
			}
		}
	}
	return nil
}

// Errors of a sign-in. Each is refused before anything is recorded; the
// pages show a sentence per error, never the provider's own text.
var (
	// ErrState: no sign-in was started in this browser, it expired, or the
	// state returned does not match (a forged or replayed callback).
	ErrState = errors.New("auth: sign-in state missing or does not match")
	// ErrProvider: the provider refused, or could not be reached.
	ErrProvider = errors.New("auth: the identity provider refused or could not be reached")
	// ErrCode: the authorization code was refused at the token endpoint
	// (used before, expired, or not issued to us).
	ErrCode = errors.New("auth: authorization code refused")
	// ErrToken: the ID token failed verification (signature, issuer,
	// audience, expiry).
	ErrToken = errors.New("auth: ID token refused")
	// ErrExpired: the ID token's lifetime has passed.
	ErrExpired = errors.New("auth: ID token expired")
	// ErrNonce: the ID token does not carry the nonce of this sign-in.
	ErrNonce = errors.New("auth: ID token nonce does not match")
	// ErrNoRole: a staff member whose claim maps to no ledger role.
	ErrNoRole = errors.New("auth: no ledger role in the role claim")
	// ErrUnknownProvider: no provider of that name is configured.
	ErrUnknownProvider = errors.New("auth: unknown provider")
)

// Identity is who the provider says signed in, after verification.
type Identity struct {
	Provider string
	Kind     Kind
	Issuer   string
	Subject  string
	Name     string // from NameClaim (residents), sealed before it is stored
	Email    string
	Username string      // staff: the name they act under
	Role     domain.Role // staff: from the role claim
	// IDToken is kept (server-side only) as the hint for ending the
	// session at the provider.
	IDToken string
}

// RelyingParty signs people in through the configured providers.
type RelyingParty struct {
	cfgs   []ProviderConfig
	now    func() time.Time
	log    *slog.Logger
	client *http.Client

	mu        sync.Mutex
	providers map[string]*provider // discovered lazily: a provider may start after us
	flows     map[string]flow
}

type provider struct {
	cfg        ProviderConfig
	oauth      oauth2.Config
	verifier   *oidc.IDTokenVerifier
	endSession string
}

// flow is one sign-in in progress, found by the id in its cookie.
type flow struct {
	provider string
	state    string
	nonce    string
	verifier string
	expires  time.Time
}

// flowCookie binds a sign-in to the browser that started it.
const flowCookie = "ledger_signin"

const flowLifetime = 10 * time.Minute

// RPOption configures a RelyingParty.
type RPOption func(*RelyingParty)

// WithClock sets the clock ID tokens are checked against.
func WithClock(now func() time.Time) RPOption { return func(rp *RelyingParty) { rp.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) RPOption { return func(rp *RelyingParty) { rp.log = l } }

// WithHTTPClient sets the client used to reach the providers.
func WithHTTPClient(c *http.Client) RPOption { return func(rp *RelyingParty) { rp.client = c } }

// NewRelyingParty checks the configurations; providers are discovered at
// their first use.
func NewRelyingParty(cfgs []ProviderConfig, opts ...RPOption) (*RelyingParty, error) {
	rp := &RelyingParty{now: time.Now, log: slog.New(slog.DiscardHandler), client: &http.Client{Timeout: 10 * time.Second},
		providers: map[string]*provider{}, flows: map[string]flow{}}
	for _, o := range opts {
		o(rp)
	}
	seen := map[string]bool{}
	for _, c := range cfgs {
		if err := c.check(); err != nil {
			return nil, err
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("oidc provider %s is configured twice", c.Name)
		}
		seen[c.Name] = true
	}
	rp.cfgs = cfgs
	return rp, nil
}

// Providers lists the configured providers in order.
func (rp *RelyingParty) Providers() []ProviderConfig {
	if rp == nil {
		return nil
	}
	return slices.Clone(rp.cfgs)
}

func (rp *RelyingParty) provider(ctx context.Context, name string) (*provider, error) {
	i := slices.IndexFunc(rp.cfgs, func(c ProviderConfig) bool { return c.Name == name })
	if i < 0 {
		return nil, ErrUnknownProvider
	}
	cfg := rp.cfgs[i]
	rp.mu.Lock()
	p := rp.providers[name]
	rp.mu.Unlock()
	if p != nil {
		return p, nil
	}
	ctx = oidc.ClientContext(ctx, rp.client)
	op, err := oidc.NewProvider(ctx, cfg.Issuer)
	if err != nil {
		rp.log.WarnContext(ctx, "oidc discovery failed", "provider", name, "err", err)
		return nil, fmt.Errorf("%w: discovery: %v", ErrProvider, err)
	}
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	_ = op.Claims(&meta) // absent: the provider does not offer RP-initiated logout
	p = &provider{cfg: cfg, endSession: meta.EndSession,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: op.Endpoint(),
			RedirectURL: cfg.RedirectURL, Scopes: cfg.Scopes},
		verifier: op.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: rp.now}),
	}
	rp.mu.Lock()
	rp.providers[name] = p
	rp.mu.Unlock()
	return p, nil
}

func random() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Begin starts a sign-in with provider name: it remembers state, nonce and
// the PKCE verifier server-side under a fresh id set in a cookie, and
// returns the provider's authorization URL to redirect to.
func (rp *RelyingParty) Begin(w http.ResponseWriter, r *http.Request, name string, secure bool) (string, error) {
	p, err := rp.provider(r.Context(), name)
	if err != nil {
		return "", err
	}
	f := flow{provider: name, state: random(), nonce: random(), verifier: oauth2.GenerateVerifier(),
		expires: rp.now().Add(flowLifetime)}
	id := random()
	rp.mu.Lock()
	now := rp.now()
	for k, old := range rp.flows {
		if now.After(old.expires) {
			delete(rp.flows, k)
		}
	}
	rp.flows[id] = f
	rp.mu.Unlock()
	// Lax: the callback is a top-level navigation from the provider.
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: id, Path: "/signin/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure || r.TLS != nil, MaxAge: int(flowLifetime.Seconds())})
	return p.oauth.AuthCodeURL(f.state, oidc.Nonce(f.nonce), oauth2.S256ChallengeOption(f.verifier)), nil
}

// Finish completes a sign-in at the callback of provider name: the flow of
// this browser (used once), the state, the code exchanged with the PKCE
// verifier, the ID token verified against the provider's keys, issuer,
// audience, expiry and nonce. Staff get their role from the claim here, at
// every sign-in.
func (rp *RelyingParty) Finish(w http.ResponseWriter, r *http.Request, name string) (Identity, error) {
	c, err := r.Cookie(flowCookie)
	http.SetCookie(w, &http.Cookie{Name: flowCookie, Value: "", Path: "/signin/", HttpOnly: true, MaxAge: -1})
	if err != nil || c.Value == "" {
		return Identity{}, ErrState
	}
	rp.mu.Lock()
	f, ok := rp.flows[c.Value]
	delete(rp.flows, c.Value)
	rp.mu.Unlock()
	q := r.URL.Query()
	if !ok || f.provider != name || rp.now().After(f.expires) || q.Get("state") != f.state {
		return Identity{}, ErrState
	}
	if e := q.Get("error"); e != "" {
		return Identity{}, fmt.Errorf("%w: %s", ErrProvider, e)
	}
	p, err := rp.provider(r.Context(), name)
	if err != nil {
		return Identity{}, err
	}
	ctx := oidc.ClientContext(r.Context(), rp.client)
	tok, err := p.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(f.verifier))
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrCode, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Identity{}, fmt.Errorf("%w: no id_token in the token response", ErrToken)
	}
	idt, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return Identity{}, fmt.Errorf("%w: %v", ErrExpired, err)
		}
		return Identity{}, fmt.Errorf("%w: %v", ErrToken, err)
	}
	if idt.Nonce != f.nonce {
		return Identity{}, ErrNonce
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrToken, err)
	}
	id := Identity{Provider: name, Kind: p.cfg.Kind, Issuer: idt.Issuer, Subject: idt.Subject, IDToken: raw}
	if p.cfg.Kind == Residents {
		id.Name = claimString(claims, p.cfg.NameClaim)
		id.Email = claimString(claims, p.cfg.EmailClaim)
		return id, nil
	}
	id.Username = claimString(claims, p.cfg.UsernameClaim)
	if id.Username == "" {
		return Identity{}, fmt.Errorf("%w: no %s claim", ErrToken, p.cfg.UsernameClaim)
	}
	groups := claimStrings(claims, p.cfg.RoleClaim)
	for _, m := range p.cfg.Roles {
		if slices.Contains(groups, m.Group) {
			id.Role = m.Role
			return id, nil
		}
	}
	return Identity{}, ErrNoRole
}

// Origins are the origins the browser is sent to when signing out (the
// providers' end-session endpoints, once discovered), for the pages'
// Content-Security-Policy form-action.
func (rp *RelyingParty) Origins() []string {
	if rp == nil {
		return nil
	}
	rp.mu.Lock()
	defer rp.mu.Unlock()
	var out []string
	for _, p := range rp.providers {
		if u, err := url.Parse(p.endSession); err == nil && u.Host != "" {
			if o := u.Scheme + "://" + u.Host; !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	slices.Sort(out)
	return out
}

// EndSessionURL is where to send the browser to end the session at the
// provider too (RP-initiated logout), or "" when the provider does not
// offer it.
func (rp *RelyingParty) EndSessionURL(ctx context.Context, name, idToken, postLogout string) string {
	if rp == nil || name == "" {
		return ""
	}
	p, err := rp.provider(ctx, name)
	if err != nil || p.endSession == "" {
		return ""
	}
	u, err := url.Parse(p.endSession)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("client_id", p.cfg.ClientID)
	if idToken != "" {
		q.Set("id_token_hint", idToken)
	}
	if postLogout != "" {
		q.Set("post_logout_redirect_uri", postLogout)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func claimString(claims map[string]any, name string) string {
	if name == "" {
		return ""
	}
	s, _ := claims[name].(string)
	return strings.TrimSpace(s)
}

// claimStrings reads a claim that is a string or a list of strings.
func claimStrings(claims map[string]any, name string) []string {
	switch v := claims[name].(type) {
	case string:
		return strings.Fields(v)
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// RandomSecret returns 32 random bytes, base64url: a client secret for the
// development provider, shared in memory with the relying party.
func RandomSecret() string { return random() }
