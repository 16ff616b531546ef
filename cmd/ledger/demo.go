package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/demo"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
)

// errNotEmpty: demo refuses to mix its history into a ledger that already
// holds events.
var errNotEmpty = errors.New("the ledger is not empty")

// cmdDemo seeds a realistic Malmö-like history into an empty ledger and
// issues tokens for the staff it shows, so a newcomer can look at
// everything at once.
func cmdDemo(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	data := dataFlag(fs, getenv)
	seed := fs.Int64("seed", 1, "random seed: the same seed gives the same history")
	size := fs.String("size", "normal", "small (a few hundred events) or normal (thousands)")
	force := fs.Bool("force", false, "seed even if the ledger already holds events")
	url := fs.String("url", "http://"+envOr(getenv, "LEDGER_ADDR", "127.0.0.1:8080"), "where ledger serve will answer, for the links printed")
	storeURL, user, pass := storeFlags(fs, getenv)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0); err != nil {
		return err
	}
	if *size != string(demo.Small) && *size != string(demo.Normal) {
		return fmt.Errorf("--size %q: want small or normal: %w", *size, errUsage)
	}

	if err := integrity.CheckIdentity(*data); err != nil {
		return err // appending to a copy starts a fork
	}
	store, err := openStore(ctx, *data, *storeURL, user, pass, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()
	head, err := store.Head(ctx)
	if err != nil {
		return err
	}
	if head > 0 && !*force {
		return fmt.Errorf("%w: %s holds %d events; use an empty --data directory, or --force to add the demo anyway: %w",
			errNotEmpty, *data, head, errUsage)
	}
	keys, err := openKeys(*data, store, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	svc := ledger.New(store, keys)

	start := time.Now()
	fmt.Fprintf(stderr, "demo: seeding %s (size %s, seed %d) …\n", *data, *size, *seed)
	sum, err := demo.Seed(ctx, svc, demo.Config{Seed: *seed, Size: demo.Size(*size), Progress: func(done, total int) {
		fmt.Fprintf(stderr, "demo: %d/%d commands\n", done, total)
	}})
	if err != nil {
		return err
	}
	elapsed := time.Since(start)

	// Tokens carry the names the history uses, so the moderator token acts
	// as the moderator whose decisions the trails show. Fresh keys each
	// run: a token's secret is shown only once.
	type tok struct {
		role domain.Role
		name string
	}
	toks := []tok{{domain.RoleOfficial, demo.Official}, {domain.RoleModerator, demo.Moderator},
		{domain.RoleAuditor, demo.Auditor}, {domain.RoleResearcher, demo.Researcher}, {domain.RoleAdmin, demo.Admin}}
	secrets := make([]string, len(toks))
	cli := domain.Actor{ID: "cli", Role: domain.RoleAdmin}
	for i, t := range toks {
		res, err := svc.IssueToken(ctx, cli, ledger.Request[ledger.IssueToken]{
			Command: ledger.IssueToken{Name: t.name, Role: t.role}, IdempotencyKey: uuid.NewString(), RequestID: "cli-demo",
		})
		if err != nil {
			return fmt.Errorf("issuing the %s token: %w", t.role, err)
		}
		secrets[i] = res.Token
	}

	var b strings.Builder
	fmt.Fprintf(&b, "demo: %d events from %d commands in %s: %d participants, %d submissions, %d comments, %d supports, %d survey answers, %d flags, %d decisions, %d appeals\n",
		sum.Events, sum.Commands, elapsed.Round(time.Millisecond), sum.Participants, sum.Submissions, sum.Comments,
		sum.Supports, sum.SurveyAnswers, sum.Flags, sum.Decisions, sum.Appeals)
	b.WriteString("\nprocesses:\n")
	for _, p := range sum.Processes {
		fmt.Fprintf(&b, "  %-15s %-21s %-13s %s\n    %s/v1/processes/%s\n", p.CaseNumber, p.OwnerBody, p.Kind, p.Title, *url, p.ID)
	}
	b.WriteString("\nstart with (after `ledger serve`):\n")
	fmt.Fprintf(&b, "  %s/                              the public pages\n", *url)
	fmt.Fprintf(&b, "  %s/v1/processes                  every process\n", *url)
	fmt.Fprintf(&b, "  %s/v1/submissions/%s   forwarded (remiss), over the threshold, answered\n", *url, sum.Answered)
	fmt.Fprintf(&b, "  %s/v1/items/%s/trail   hidden, appealed, restored by another moderator\n", *url, sum.Overturned)
	fmt.Fprintf(&b, "  %s/v1/items/%s/trail   hidden, appeal upheld\n", *url, sum.Upheld)
	fmt.Fprintf(&b, "  %s/v1/submissions/%s   disposed (gallringsbeslut KS 2025/1021)\n", *url, sum.Disposed)
	fmt.Fprintf(&b, "  %s/v1/moderation/queue?process=%s   pre-moderation queue (moderator token)\n", *url, sum.Pending)
	fmt.Fprintf(&b, "  %s/v1/reports/transparency       transparency report\n", *url)
	fmt.Fprintf(&b, "  %s/v1/openapi.json               the API\n", *url)
	b.WriteString("\ntokens (shown once; send as Authorization: Bearer <token>):\n")
	for i, t := range toks[:len(toks)-1] {
		fmt.Fprintf(&b, "  %-10s %-15s %s\n", t.role, t.name, secrets[i])
	}
	fmt.Fprintf(&b, "admin token (%s):\n%s\n", demo.Admin, secrets[len(secrets)-1])
	_, err = io.WriteString(stdout, b.String())
	return err
}
