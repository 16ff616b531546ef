package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/dsa"
	"github.com/malmo/participation-ledger/ledger"
)

// dsaExport is what ledger export --kind dsa needs.
type dsaExport struct {
	data, storeURL, user, pass, out string
	url, token                      string // the database's API, when submitting
	requester                       string
}

// exportDSA writes the restricting decisions as DSA statements of reasons
// and, with a database URL, submits those not accepted yet.
func exportDSA(ctx context.Context, x dsaExport, stdout io.Writer) error {
	if (x.url == "") != (x.token == "") {
		return usagef("--dsa-url and --dsa-token go together")
	}
	log := slog.New(slog.DiscardHandler)
	store, err := openStore(ctx, x.data, x.storeURL, x.user, x.pass, log)
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := dsa.Collect(ctx, store, 0)
	if err != nil {
		return err
	}
	names, err := dsa.WriteDir(x.out, res)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dsa export up to position %d: %d restricting decisions, %d statements in %d files, %d held back (see %s)\n",
		res.Position, res.Restrictions, len(res.Statements), len(names)-1, len(res.HeldBack), filepath.Join(x.out, "summary.json"))
	for _, h := range res.HeldBack {
		fmt.Fprintf(stdout, "  held back %s: %v\n", h.PUID, h.Errors)
	}
	if x.url == "" {
		return nil
	}
	keys, err := openKeys(x.data, store, log)
	if err != nil {
		return err
	}
	svc := ledger.New(store, keys, ledger.WithLogger(log))
	by := domain.Actor{ID: x.requester, Role: domain.RoleAdmin}
	client := &dsa.Client{URL: x.url, Token: x.token, Record: func(ctx context.Context, rec domain.RecordDSASubmission) error {
		_, err := svc.RecordDSASubmission(ctx, by, ledger.Request[domain.RecordDSASubmission]{
			IdempotencyKey: "dsa-submission-" + uuid.NewString(), Command: rec})
		return err
	}}
	recs, err := client.SubmitAll(ctx, res)
	for _, r := range recs {
		fmt.Fprintf(stdout, "submitted %d statements to %s: %s (HTTP %d, %d attempts) %s\n",
			len(r.PUIDs), r.Endpoint, r.Outcome, r.Status, r.Attempts, r.Detail)
	}
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.Outcome != domain.DSAAccepted {
			return fmt.Errorf("the DSA Transparency Database did not accept every batch (recorded as DSAStatementsSubmitted)")
		}
	}
	return nil
}
