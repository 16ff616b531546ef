package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/auth"
	"github.com/malmo/participation-ledger/demo"
	"github.com/malmo/participation-ledger/domain"
)

// signinConfig is how people sign in on the web pages: the OpenID
// providers, the session lifetimes and cookie flags, and the development
// provider.
type signinConfig struct {
	providers []auth.ProviderConfig
	sessions  auth.SessionConfig
	devAddr   string // "" = no development provider
}

// providerList collects repeated --oidc flags; LEDGER_OIDC separates
// providers with ';'.
type providerList []string

func (p *providerList) String() string { return strings.Join(*p, "; ") }
func (p *providerList) Set(v string) error {
	for _, s := range strings.Split(v, ";") {
		if strings.TrimSpace(s) != "" {
			*p = append(*p, s)
		}
	}
	return nil
}

// signinFlags registers the sign-in flags of serve; the returned function
// reads them after parsing.
func signinFlags(fs *flag.FlagSet) func() (signinConfig, error) {
	var specs providerList
	fs.Var(&specs, "oidc", "an OpenID provider to sign in with, as key=value pairs, repeatable (LEDGER_OIDC; providers separated by ';'):\n"+
		"name=eid kind=resident|staff issuer=URL client_id=ID client_secret_file=FILE redirect_url=URL/signin/eid/callback\n"+
		"scopes=openid,profile,email name_claim=name email_claim=email label=BankID role_claim=groups roles=group:role,… (see README)")
	dev := fs.String("dev-oidc", "",
		"serve the development OpenID provider with the demo's people on this loopback address, e.g. 127.0.0.1:8081 (LEDGER_DEV_OIDC); never in production")
	secure := fs.Bool("secure-cookies", false,
		"mark cookies Secure although requests arrive without TLS, because TLS ends at a proxy (LEDGER_SECURE_COOKIES)")
	idle := fs.Duration("session-idle", 30*time.Minute, "a web session unused this long ends (LEDGER_SESSION_IDLE)")
	maxLife := fs.Duration("session-max", 8*time.Hour, "a resident's web session ends after this long (LEDGER_SESSION_MAX)")
	staffMax := fs.Duration("staff-session-max", 10*time.Minute,
		"a staff web session ends after this long, and the role claim is read again at the next sign-in (LEDGER_STAFF_SESSION_MAX)")
	return func() (signinConfig, error) {
		c := signinConfig{devAddr: *dev, sessions: auth.SessionConfig{Idle: *idle, Max: *maxLife, StaffMax: *staffMax, Secure: *secure}}
		for _, s := range specs {
			p, err := auth.ParseProvider(s, os.ReadFile)
			if err != nil {
				return c, usagef("--oidc: %v", err)
			}
			c.providers = append(c.providers, p)
		}
		return c, nil
	}
}

// The development provider's clients and the groups it gives staff.
const (
	devResidents = "dev-eid"
	devStaff     = "dev-staff"
)

var devGroups = []auth.RoleMapping{
	{Group: "ledger-admins", Role: domain.RoleAdmin}, {Group: "ledger-officials", Role: domain.RoleOfficial},
	{Group: "ledger-moderators", Role: domain.RoleModerator}, {Group: "ledger-auditors", Role: domain.RoleAuditor},
	{Group: "ledger-researchers", Role: domain.RoleResearcher}, {Group: "ledger-intake", Role: domain.RoleIntake},
	{Group: "ledger-elected", Role: domain.RoleElected},
}

// devPeople are the demo's people: two residents (not yet registered: the
// first sign-in registers them) and every demo staff member under the name
// the demo history uses.
func devPeople() []auth.DevPerson {
	people := []auth.DevPerson{
		{Subject: "dev-resident-1", Name: "Alex Andersson", Email: "alex.andersson@example.org", Resident: true},
		{Subject: "dev-resident-2", Name: "Fatima Yusuf", Email: "fatima.yusuf@example.org", Resident: true},
	}
	for _, s := range []struct{ user, name, group string }{
		{demo.Official, "Anna Lindqvist", "ledger-officials"}, {demo.Moderator, "Karin Sjöberg", "ledger-moderators"},
		{demo.Moderator2, "Lars Ekdahl", "ledger-moderators"}, {demo.Moderator3, "Nadia Karimi", "ledger-moderators"},
		{demo.Intake, "Sara Nilsson", "ledger-intake"}, {demo.Auditor, "Per Wallin", "ledger-auditors"},
		{demo.Researcher, "Eva Strand", "ledger-researchers"}, {demo.Admin, "Maria Holm", "ledger-admins"},
	} {
		people = append(people, auth.DevPerson{Subject: "dev-staff-" + s.user, Name: s.name, Username: s.user,
			Email: s.user + "@example.org", Groups: []string{s.group}})
	}
	return people
}

// startDevProvider serves the development provider on devAddr for a ledger
// at base (both on loopback), and returns the two providers to sign in
// with and a function that stops it.
func startDevProvider(devAddr, base string, log *slog.Logger) ([]auth.ProviderConfig, func(), error) {
	if !auth.IsLoopback(devAddr) || !auth.IsLoopback(strings.TrimPrefix(base, "http://")) {
		return nil, nil, fmt.Errorf("--dev-oidc %s: the development provider runs only on a loopback address, for a ledger on a loopback address", devAddr)
	}
	ln, err := net.Listen("tcp", devAddr)
	if err != nil {
		return nil, nil, err
	}
	issuer := "http://" + ln.Addr().String()
	secret := auth.RandomSecret()
	clients := []auth.DevClient{
		{ID: devResidents, Secret: secret, Residents: true, RedirectURIs: []string{base + "/signin/" + devResidents + "/callback"}, PostLogout: []string{base + "/"}},
		{ID: devStaff, Secret: secret, RedirectURIs: []string{base + "/signin/" + devStaff + "/callback"}, PostLogout: []string{base + "/"}},
	}
	op, err := auth.NewDevProvider(issuer, clients, devPeople(), log)
	if err != nil {
		ln.Close()
		return nil, nil, err
	}
	srv := &http.Server{Handler: op, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("development OpenID provider stopped", "err", err)
		}
	}()
	providers := []auth.ProviderConfig{
		{Name: devResidents, Label: "utvecklings-eID (demo)", Kind: auth.Residents, Issuer: issuer, ClientID: devResidents, ClientSecret: secret,
			RedirectURL: base + "/signin/" + devResidents + "/callback", Scopes: []string{"openid", "profile", "email"},
			NameClaim: "name", EmailClaim: "email"},
		{Name: devStaff, Label: "utvecklingskatalog (demo)", Kind: auth.Staff, Issuer: issuer, ClientID: devStaff, ClientSecret: secret,
			RedirectURL: base + "/signin/" + devStaff + "/callback", Scopes: []string{"openid", "profile", "groups"},
			UsernameClaim: "preferred_username", RoleClaim: "groups", Roles: devGroups},
	}
	return providers, func() { srv.Close() }, nil
}

// linkKey is the key of the subject→participant hash (auth.Link).
func linkKey(dataDir string) ([]byte, error) { return secret(filepath.Join(dataDir, "link.key")) }
