package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/polis"
)

// cmdImport imports history from another participation system. Only Polis
// so far: `ledger import polis --data DIR --process-title "…" EXPORT_DIR`.
// The whole export is read and checked before anything is appended; the
// import is idempotent and resumable (run it again after an interruption),
// and a later export of the same conversation adds only what is new to the
// same process. summary.csv's counts that differ from the files are
// printed as warnings.
func cmdImport(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "polis" {
		fmt.Fprintln(stderr, `usage: ledger import polis --data DIR --process-title "…" [flags] POLIS_EXPORT_DIR`)
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			return errHelp
		}
		if len(args) > 0 {
			return usagef("unknown subcommand %q; want polis", args[0])
		}
		return errUsage
	}
	fs := newFlags("import polis", stderr)
	data := dataFlag(fs, getenv)
	storeURL, user, pass := storeFlags(fs, getenv)
	title := fs.String("process-title", "", "title (Swedish) of the dialogue process the conversation becomes (required)")
	owner := fs.String("owner-body", "", "the nämnd that owns the process (default: unknown, imported)")
	caseNumber := fs.String("case-number", "", "diarienummer (default: the conversation's URL)")
	policy := fs.String("policy", "", "policy reference for moderation (default: the source system's moderation)")
	lang := fs.String("language", "", "language tag of the statements, e.g. sv or en (default und: undetermined)")
	if err := parseFlags(fs, args[1:], getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 1, "process-title"); err != nil {
		return err
	}
	conv, err := polis.Read(fs.Arg(0))
	if err != nil {
		return err // names the file and line; nothing has been appended
	}
	log := slog.New(slog.DiscardHandler)
	if err := integrity.CheckIdentity(*data); err != nil {
		return err // appending to a copy starts a fork
	}
	store, err := openStore(ctx, *data, *storeURL, user, pass, log)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := openKeys(*data, store, log)
	if err != nil {
		return err
	}
	svc := ledger.New(store, keys, ledger.WithLogger(log))
	fmt.Fprintf(stderr, "importing %s: %d comments, %d votes\n", fs.Arg(0), len(conv.Comments), len(conv.Votes))
	for _, w := range conv.Warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	started := time.Now()
	res, err := polis.Import(ctx, svc, conv, polis.Options{Title: *title, OwnerBody: *owner, CaseNumber: *caseNumber,
		PolicyReference: *policy, Language: *lang, Progress: func(step string, n int) {
			fmt.Fprintf(stderr, "  %-12s %6d  (%s)\n", step, n, time.Since(started).Round(time.Millisecond))
		}})
	if err != nil {
		return fmt.Errorf("import stopped; run the same command again to finish it: %w", err)
	}
	if res.AlreadyComplete {
		fmt.Fprintf(stdout, "already imported as process %s: nothing added\n", res.ProcessID)
		return nil
	}
	rate := float64(res.Added.Votes) / res.Duration.Seconds()
	fmt.Fprintf(stdout, "imported into process %s (import %s)\n", res.ProcessID, res.ImportID)
	fmt.Fprintf(stdout, "  participants %d, statements %d (approved %d, hidden %d), votes %d\n",
		res.Participants, res.Statements, res.Approved, res.Hidden, res.Votes)
	fmt.Fprintf(stdout, "  added: participants %d, statements %d, votes %d, moderation decisions %d\n",
		res.Added.Participants, res.Added.Statements, res.Added.Votes, res.Added.Decisions)
	fmt.Fprintf(stdout, "  %d events appended in %s (%.0f votes/s)\n", res.Appended, res.Duration.Round(time.Millisecond), rate)
	for _, w := range res.Warnings {
		fmt.Fprintf(stdout, "  warning: %s\n", w)
	}
	return nil
}
