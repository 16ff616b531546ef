package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// DevPerson is someone the development provider lets you sign in as.
type DevPerson struct {
	Subject  string // stable id at the provider
	Name     string
	Email    string
	Username string   // staff: preferred_username, the name they act under
	Groups   []string // staff: the "groups" claim
	Resident bool     // offered to the residents' client, else to the staff client
}

// DevClient is a relying party registered at the development provider.
type DevClient struct {
	ID           string
	Secret       string
	RedirectURIs []string
	PostLogout   []string
	Residents    bool // offers residents (else staff)
	// IDTokenLifetime defaults to 5 minutes.
	IDTokenLifetime time.Duration
}

// DevProvider is a real OpenID provider (zitadel/oidc's op package, with
// PKCE, discovery, JWKS, end-session) that signs in the demo's people
// without passwords. It exists so `make run` and the tests need no outside
// service; it refuses any issuer that is not a loopback address.
type DevProvider struct {
	http.Handler
	store *devStorage
}

// IsLoopback reports whether host (a host or host:port) is a loopback
// address or localhost.
func IsLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// NewDevProvider serves a provider whose issuer is issuer (an http URL on a
// loopback address, where the handler must be served).
func NewDevProvider(issuer string, clients []DevClient, people []DevPerson, log *slog.Logger) (*DevProvider, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "http" || !IsLoopback(u.Host) || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("auth: the development provider runs only at http://<loopback address>:<port>, not %q", issuer)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	st := &devStorage{key: key, keyID: random()[:16], clients: map[string]*devClient{}, people: map[string]DevPerson{},
		requests: map[string]*devRequest{}, codes: map[string]string{}}
	for _, c := range clients {
		st.clients[c.ID] = &devClient{DevClient: c}
	}
	for _, p := range people {
		st.people[p.Subject] = p
		st.order = append(st.order, p.Subject)
	}
	var crypto [32]byte
	if _, err := rand.Read(crypto[:]); err != nil {
		return nil, err
	}
	provider, err := op.NewProvider(&op.Config{
		CryptoKey: crypto, DefaultLogoutRedirectURI: "/signed-out", CodeMethodS256: true, AuthMethodPost: true,
		SupportedUILocales: []language.Tag{language.Swedish, language.English},
	}, st, op.StaticIssuer(issuer), op.WithAllowInsecure(), op.WithLogger(log))
	if err != nil {
		return nil, err
	}
	st.callback = op.AuthCallbackURL(provider)
	mux := http.NewServeMux()
	icpt := op.NewIssuerInterceptor(provider.IssuerFromRequest)
	mux.HandleFunc("GET /login", st.loginPage)
	mux.HandleFunc("POST /login", icpt.HandlerFunc(st.login))
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) {
		devPage(w, http.StatusOK, devPageData{Title: "Utloggad / Signed out"})
	})
	mux.Handle("/", provider)
	return &DevProvider{Handler: mux, store: st}, nil
}

// SetGroups changes a person's groups claim (as a directory would when a
// group membership is removed); it takes effect at their next sign-in.
func (d *DevProvider) SetGroups(subject string, groups []string) {
	d.store.mu.Lock()
	defer d.store.mu.Unlock()
	if p, ok := d.store.people[subject]; ok {
		p.Groups = groups
		d.store.people[subject] = p
	}
}

// ---- the login page: pick a person ----

type devPageData struct {
	Title   string
	ID      string
	People  []DevPerson
	Message string
}

var devTmpl = template.Must(template.New("dev").Parse(`<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font:1rem/1.5 system-ui,sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem;color:#1a1a1a}
.warn{background:#fff4ce;border-left:4px solid #8a6d00;padding:.5rem 1rem}fieldset{border:1px solid #767676;padding:1rem}
label{display:block;padding:.4rem 0}button{font:inherit;padding:.5rem 1.2rem;margin-top:1rem;background:#0b5cad;color:#fff;border:0;border-radius:4px}</style>
</head><body><main id="main">
<h1>{{.Title}}</h1>
<p class="warn">Utvecklingsinloggning – bara för demo och test på den här datorn. <span lang="en">Development sign-in – for the demo and tests on this computer only.</span></p>
{{if .Message}}<p role="alert">{{.Message}}</p>{{end}}
{{if .People}}<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<fieldset><legend>Vem är du? <span lang="en">Who are you?</span></legend>
{{range $i, $p := .People}}<label><input type="radio" name="subject" value="{{$p.Subject}}"{{if eq $i 0}} checked{{end}}> {{$p.Name}}{{if $p.Groups}} ({{range $j, $g := $p.Groups}}{{if $j}}, {{end}}{{$g}}{{end}}){{end}}</label>
{{end}}</fieldset>
<button type="submit" id="signin">Logga in <span lang="en">/ Sign in</span></button>
</form>{{end}}
</main></body></html>`))

func devPage(w http.ResponseWriter, status int, d devPageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// No form-action: the form's answer redirects to the relying party.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = devTmpl.Execute(w, d)
}

func (s *devStorage) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	s.mu.Lock()
	req := s.requests[id]
	var people []DevPerson
	if req != nil {
		residents := s.clients[req.clientID] != nil && s.clients[req.clientID].Residents
		for _, sub := range s.order {
			if p := s.people[sub]; p.Resident == residents {
				people = append(people, p)
			}
		}
	}
	s.mu.Unlock()
	if req == nil {
		devPage(w, http.StatusBadRequest, devPageData{Title: "Inloggning / Sign in", Message: "Okänd begäran. / Unknown request."})
		return
	}
	devPage(w, http.StatusOK, devPageData{Title: "Inloggning / Sign in", ID: id, People: people})
}

func (s *devStorage) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	id, sub := r.PostFormValue("id"), r.PostFormValue("subject")
	s.mu.Lock()
	req := s.requests[id]
	p, ok := s.people[sub]
	if req != nil && ok {
		req.subject, req.done, req.authTime = sub, true, time.Now()
	}
	s.mu.Unlock()
	if req == nil || !ok {
		devPage(w, http.StatusBadRequest, devPageData{Title: "Inloggning / Sign in", Message: "Okänd begäran eller person. / Unknown request or person."})
		return
	}
	_ = p
	http.Redirect(w, r, s.callback(r.Context(), id), http.StatusFound)
}

// ---- op.Storage, in memory ----

type devStorage struct {
	key      *rsa.PrivateKey
	keyID    string
	callback func(context.Context, string) string

	mu       sync.Mutex
	clients  map[string]*devClient
	people   map[string]DevPerson
	order    []string
	requests map[string]*devRequest
	codes    map[string]string // code → request id
}

var _ op.Storage = (*devStorage)(nil)

var errDevNotFound = errors.New("not found")

type devRequest struct {
	id, clientID, redirectURI, state, nonce, subject string
	scopes                                           []string
	responseType                                     oidc.ResponseType
	responseMode                                     oidc.ResponseMode
	challenge                                        *oidc.CodeChallenge
	done                                             bool
	authTime                                         time.Time
}

func (a *devRequest) GetID() string                         { return a.id }
func (a *devRequest) GetACR() string                        { return "" }
func (a *devRequest) GetAMR() []string                      { return []string{"dev"} }
func (a *devRequest) GetAudience() []string                 { return []string{a.clientID} }
func (a *devRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *devRequest) GetClientID() string                   { return a.clientID }
func (a *devRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *devRequest) GetNonce() string                      { return a.nonce }
func (a *devRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *devRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *devRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *devRequest) GetScopes() []string                   { return a.scopes }
func (a *devRequest) GetState() string                      { return a.state }
func (a *devRequest) GetSubject() string                    { return a.subject }
func (a *devRequest) Done() bool                            { return a.done }

func (s *devStorage) CreateAuthRequest(_ context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	req := &devRequest{id: random(), clientID: r.ClientID, redirectURI: r.RedirectURI, state: r.State, nonce: r.Nonce,
		scopes: r.Scopes, responseType: r.ResponseType, responseMode: r.ResponseMode}
	if r.CodeChallenge != "" {
		req.challenge = &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[req.id] = req
	return req, nil
}

func (s *devStorage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.requests[id]; r != nil {
		return r, nil
	}
	return nil, errDevNotFound
}

func (s *devStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	id, ok := s.codes[code]
	s.mu.Unlock()
	if !ok {
		return nil, errDevNotFound
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *devStorage) SaveAuthCode(_ context.Context, id, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = id
	return nil
}

// DeleteAuthRequest runs after the code is exchanged: the code cannot be
// used again.
func (s *devStorage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.requests, id)
	for c, rid := range s.codes {
		if rid == id {
			delete(s.codes, c)
		}
	}
	return nil
}

func (s *devStorage) CreateAccessToken(context.Context, op.TokenRequest) (string, time.Time, error) {
	return random(), time.Now().Add(5 * time.Minute), nil
}

func (s *devStorage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, oidc.ErrUnsupportedGrantType()
}

func (s *devStorage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *devStorage) TerminateSession(context.Context, string, string) error { return nil }

func (s *devStorage) RevokeToken(context.Context, string, string, string) *oidc.Error { return nil }

func (s *devStorage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

type devKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k devKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k devKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k devKey) ID() string                                  { return k.id }
func (k devKey) Use() string                                 { return "sig" }

type devPrivateKey struct{ devKey }

func (k devPrivateKey) Key() any { return k.key }

type devPublicKey struct{ devKey }

func (k devPublicKey) Key() any { return &k.key.PublicKey }

func (s *devStorage) SigningKey(context.Context) (op.SigningKey, error) {
	return devPrivateKey{devKey{s.keyID, s.key}}, nil
}

func (s *devStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *devStorage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{devPublicKey{devKey{s.keyID, s.key}}}, nil
}

func (s *devStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[id]; c != nil {
		return c, nil
	}
	return nil, errDevNotFound
}

func (s *devStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clients[id]; c != nil && c.Secret == secret {
		return nil
	}
	return errors.New("client id or secret wrong")
}

func (s *devStorage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

// SetUserinfoFromRequest puts the person's claims into the ID token.
func (s *devStorage) SetUserinfoFromRequest(_ context.Context, ui *oidc.UserInfo, r op.IDTokenRequest, scopes []string) error {
	return s.userinfo(ui, r.GetSubject(), scopes)
}

func (s *devStorage) userinfo(ui *oidc.UserInfo, subject string, scopes []string) error {
	s.mu.Lock()
	p, ok := s.people[subject]
	s.mu.Unlock()
	if !ok {
		return errDevNotFound
	}
	ui.Subject = p.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		ui.Name = p.Name
		ui.PreferredUsername = p.Username
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && p.Email != "" {
		ui.Email, ui.EmailVerified = p.Email, true
	}
	if slices.Contains(scopes, "groups") && !p.Resident {
		ui.AppendClaims("groups", slices.Clone(p.Groups))
	}
	return nil
}

func (s *devStorage) SetUserinfoFromToken(_ context.Context, ui *oidc.UserInfo, _, subject, _ string) error {
	return s.userinfo(ui, subject, []string{oidc.ScopeProfile, oidc.ScopeEmail, "groups"})
}

func (s *devStorage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errors.New("introspection is not offered")
}

func (s *devStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *devStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errDevNotFound
}

func (s *devStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("JWT profile is not offered")
}

func (s *devStorage) Health(context.Context) error { return nil }

// devClient is a registered relying party: a confidential web client using
// the code flow.
type devClient struct{ DevClient }

func (c *devClient) GetID() string                       { return c.ID }
func (c *devClient) RedirectURIs() []string              { return c.DevClient.RedirectURIs }
func (c *devClient) PostLogoutRedirectURIs() []string    { return c.PostLogout }
func (c *devClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *devClient) AuthMethod() oidc.AuthMethod {
	if c.Secret == "" {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c *devClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *devClient) GrantTypes() []oidc.GrantType        { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *devClient) LoginURL(id string) string           { return "/login?authRequestID=" + url.QueryEscape(id) }
func (c *devClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c *devClient) IDTokenLifetime() time.Duration {
	if c.DevClient.IDTokenLifetime > 0 {
		return c.DevClient.IDTokenLifetime
	}
	return 5 * time.Minute
}
func (c *devClient) DevMode() bool { return true } // http redirect URIs on loopback
func (c *devClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *devClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *devClient) IsScopeAllowed(scope string) bool     { return scope == "groups" }
func (c *devClient) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c *devClient) ClockSkew() time.Duration             { return 0 }
