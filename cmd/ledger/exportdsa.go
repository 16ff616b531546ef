package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/malmo/participation-ledger/dsa"
)

// exportDSA writes the restricting decisions as DSA statements of reasons
// (ledger export --kind dsa).
func exportDSA(ctx context.Context, data, storeURL, user, pass, out string, stdout io.Writer) error {
	store, err := openStore(ctx, data, storeURL, user, pass, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer store.Close()
	res, err := dsa.Collect(ctx, store, 0)
	if err != nil {
		return err
	}
	names, err := dsa.WriteDir(out, res)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dsa export up to position %d: %d restricting decisions, %d statements in %d files, %d held back (see %s)\n",
		res.Position, res.Restrictions, len(res.Statements), len(names)-1, len(res.HeldBack), filepath.Join(out, "summary.json"))
	for _, h := range res.HeldBack {
		fmt.Fprintf(stdout, "  held back %s: %v\n", h.PUID, h.Errors)
	}
	return nil
}
