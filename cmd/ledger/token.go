package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// tokenRoles are the roles a token can hold (not the system's own).
var tokenRoles = []string{string(domain.RoleParticipant), string(domain.RoleIntake), string(domain.RoleModerator),
	string(domain.RoleOfficial), string(domain.RoleAuditor), string(domain.RoleResearcher), string(domain.RoleAdmin), string(domain.RoleElected)}

// cmdToken issues a bearer token on a ledger that is not being served (the
// store is opened exclusively). This is how the first admin token is made;
// a running server issues and revokes through POST/DELETE /v1/tokens.
func cmdToken(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: ledger token create --data DIR --role ROLE --name NAME [--participant ID]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return errHelp
		}
		if len(args) > 0 {
			return usagef("unknown subcommand %q; want create", args[0])
		}
		return errUsage
	}
	fs := newFlags("token create", stderr)
	data := dataFlag(fs, getenv)
	role := fs.String("role", "", "role: participant, intake, moderator, official, auditor, researcher, admin")
	name := fs.String("name", "", "token name (staff id, or a label for a participant token)")
	participantID := fs.String("participant", "", "participant id a participant token is bound to")
	if err := parseFlags(fs, args[1:], getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0, "role", "name"); err != nil {
		return err
	}
	if !slices.Contains(tokenRoles, *role) {
		return usagef("--role %q: want one of %s", *role, strings.Join(tokenRoles, ", "))
	}
	if domain.Role(*role) == domain.RoleParticipant && *participantID == "" {
		return errors.New("a participant token needs --participant")
	}
	if err := integrity.CheckIdentity(*data); err != nil {
		return err // appending to a copy starts a fork
	}
	store, err := embedded.Open(filepath.Join(*data, "store"))
	if err != nil {
		return fmt.Errorf("opening store (is the ledger being served? use POST /v1/tokens then): %w", err)
	}
	defer store.Close()
	keys, err := privacy.Open(filepath.Join(*data, "keys"))
	if err != nil {
		return err
	}
	svc := ledger.New(store, keys)
	actor := domain.Actor{ID: "cli", Role: domain.RoleAdmin}
	res, err := svc.IssueToken(ctx, actor, ledger.Request[ledger.IssueToken]{
		Command:        ledger.IssueToken{Name: *name, Role: domain.Role(*role), Participant: *participantID},
		IdempotencyKey: uuid.NewString(),
		RequestID:      "cli-token-create",
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "token id %s (role %s, name %s) at position %d; keep the token secret, it is shown once:\n",
		res.ID, *role, *name, res.Last().Position)
	fmt.Fprintln(stdout, res.Token)
	return nil
}
