package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
	"github.com/malmo/participation-ledger/ledger"
)

const exportUsage = `usage:
  ledger export --kind audit    --out DIR [--to POS|TIME] [--data DIR]
  ledger export --kind research --out DIR --recipient NAME [--from POS|TIME] [--to POS|TIME] [--process ID] [--data DIR]
  ledger export --resume --out DIR [the same flags as the interrupted run]
  ledger export --url URL --token TOKEN --kind audit|research --out DIR [--from …] [--to …] [--process ID] [--key VERIFIER]
  ledger export --kind dsa      --out DIR [--data DIR] [--dsa-url URL --dsa-token TOKEN]

An auditor export is the log exactly as stored (events.ndjson, one event's
canonical bytes per line, from position 1), the signed checkpoint it ends at,
the checkpoint history, the verifier key and manifest.json; check it with
'ledger verify --export DIR'. A research export is pseudonymised events and
tables (CSV and Parquet) with datapackage.json, LICENSE and manifest.json.
Bounds are positions (1-based, inclusive) or RFC 3339 recorded-at times.
The export is recorded in the log as ExportIssued. An interrupted export
(Ctrl-C, crash) keeps export.state in DIR: run the same command with --resume
to continue from the last position it recorded. Needs the ledger stopped
(the embedded store is exclusive).

On a running ledger use --url: the ledger of record writes the export and
records it (POST /v1/exports; a research export is made for the token's
researcher), and this command downloads every file, checks it against the
manifest and verifies the checkpoint (an auditor export leaf by leaf).

A copy of a data directory (copied, restored from a backup) is not the ledger
of record: exporting from it signs nothing and records nothing; the export
ends at the copy's latest signed checkpoint. 'ledger adopt' makes a copy the
ledger of record once the original no longer signs.

A dsa export writes every restricting moderation decision as a statement of
reasons in the DSA Transparency Database's bulk submission format (puid = the
decision id): statements-001.json, … with at most 100 statements each, ready
to POST to its /api/v1/statements, and summary.json listing the decisions
held back because the database's rules would refuse them, and why. A running
server serves the same through GET /v1/exports/dsa. With --dsa-url and
--dsa-token the statements the database has not accepted yet are also
submitted to it (POST URL/api/v1/statements, retried on no answer, 429 and
5xx), and each call is recorded in the log as DSAStatementsSubmitted.
`

// cmdExport writes an auditor or research export of a data directory.
func cmdExport(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("export", stderr)
	fs.Usage = func() { io.WriteString(stderr, exportUsage); fs.PrintDefaults() }
	data := dataFlag(fs, getenv)
	storeURL, user, pass := storeFlags(fs, getenv)
	kind := fs.String("kind", "", "audit, research or dsa")
	out := fs.String("out", "", "directory to write the export to (created; must be empty)")
	recipient := fs.String("recipient", "", "who receives a research export; pseudonyms are keyed per recipient")
	from := fs.String("from", "", "first position or recorded-at time (research only)")
	to := fs.String("to", "", "last position or recorded-at time (default: the head)")
	process := fs.String("process", "", "only this process's events and rows (research only)")
	requester := fs.String("requester", envOr(getenv, "USER", "ledger-cli"), "who asks for the export, recorded in ExportIssued")
	licence := fs.String("licence", "CC0-1.0", "licence of the data and aggregates (research)")
	textLicence := fs.String("text-licence", "CC-BY-4.0", "licence stated for free texts of public records (research)")
	resume := fs.Bool("resume", false, "continue an interrupted export in --out")
	quiet := fs.Bool("quiet", false, "no progress bar")
	remote := fs.String("url", "", "export from the running ledger at this base URL instead of a data directory (LEDGER_URL)")
	token := fs.String("token", "", "bearer token for --url: an auditor's (audit) or a researcher's (research) (LEDGER_TOKEN)")
	dsaURL := fs.String("dsa-url", "", "with --kind dsa: submit to the DSA Transparency Database API at this base URL")
	dsaToken := fs.String("dsa-token", "", "with --dsa-url: the platform's API token")
	key := fs.String("key", "", "with --url: verifier key (or a file holding it) to check the export against (default: the server's)")
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0, "out"); err != nil {
		return err
	}
	if *kind == "dsa" && *remote == "" {
		return exportDSA(ctx, dsaExport{data: *data, storeURL: *storeURL, user: user, pass: pass, out: *out,
			url: *dsaURL, token: *dsaToken, requester: *requester}, stdout)
	}
	if *kind != string(export.Audit) && *kind != string(export.Research) {
		return usagef("--kind %q: want %s, %s or dsa (dsa: from a data directory)", *kind, export.Audit, export.Research)
	}
	if *remote != "" {
		if *resume || *recipient != "" {
			return errors.New("--url: the running ledger exports for the token's holder (no --recipient) and a retried run starts a new export (no --resume)")
		}
		k, err := verifierKeyArg(*key)
		if err != nil {
			return err
		}
		x := &remoteExport{base: *remote, token: *token, kind: *kind, from: *from, to: *to, process: *process, out: *out, key: k,
			client: exportClient(), stdout: stdout, stderr: stderr}
		return x.run(ctx)
	}
	fromB, err := export.ParseBound(*from)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	toB, err := export.ParseBound(*to)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}

	log := slog.New(slog.DiscardHandler)
	store, err := openStore(ctx, *data, *storeURL, user, pass, log)
	if err != nil {
		return err
	}
	defer store.Close()
	keys, err := openKeys(*data, store, log)
	if err != nil {
		return err
	}
	ilog, err := integrity.Open(*data)
	if err != nil {
		return fmt.Errorf("opening the integrity log (is the ledger being served? use POST /v1/exports): %w", err)
	}
	defer ilog.Close()
	if err := ilog.CatchUp(ctx, store); err != nil {
		return err
	}
	copied := ilog.OfRecord()
	if copied != nil {
		fmt.Fprintf(stderr, "ledger export: %v\nexporting without signing or recording anything, up to the copy's latest signed checkpoint\n", copied)
	}
	secretKey, err := secret(filepath.Join(*data, "pseudonym.key"))
	if err != nil {
		return err
	}
	role := domain.RoleAuditor
	if *kind == string(export.Research) {
		role = domain.RoleResearcher
	}
	opt := export.Options{
		Kind: export.Kind(*kind), Dir: *out, From: fromB, To: toB, Process: *process, Recipient: *recipient,
		Requester: *requester, Role: string(role), Licence: *licence, TextLicence: *textLicence, Resume: *resume,
	}
	if !*quiet {
		opt.Progress = stderr
	}
	src := export.Source{Store: store, Log: ilog, HistoryFile: filepath.Join(*data, "integrity", "checkpoints"), Keys: keys, Secret: secretKey}
	res, err := export.Run(ctx, src, opt)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("export interrupted; continue it with the same command and --resume: %w", err)
	}
	if err != nil {
		return err
	}
	m := res.Manifest
	if copied != nil {
		fmt.Fprintf(stdout, "export (not recorded: this directory is a copy): %s export of positions %d..%d, %d events, %d files in %s\n",
			m.Kind, m.FirstPosition, m.LastPosition, m.EventCount, len(m.Files), *out)
		fmt.Fprintf(stdout, "checkpoint: size %d root %s\nmanifest sha256: %s\n", m.Checkpoint.Size, m.Checkpoint.Root, res.ManifestHash)
		return nil
	}

	svc := ledger.New(store, keys, ledger.WithLogger(log))
	id := uuid.NewString()
	rec, err := svc.IssueExport(ctx, domain.Actor{ID: *requester, Role: role}, ledger.Request[domain.IssueExport]{
		IdempotencyKey: "export-" + id,
		Command:        export.IssueCommand(id, opt, res),
	})
	if err != nil {
		return fmt.Errorf("the export is written but recording it failed: %w", err)
	}
	if err := ilog.CatchUp(ctx, store); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "export %s: %s export of positions %d..%d, %d events, %d files in %s\n",
		id, m.Kind, m.FirstPosition, m.LastPosition, m.EventCount, len(m.Files), *out)
	fmt.Fprintf(stdout, "checkpoint: size %d root %s\nmanifest sha256: %s\nrecorded as ExportIssued at position %d\n",
		m.Checkpoint.Size, m.Checkpoint.Root, res.ManifestHash, rec.Last().Position)
	return nil
}
