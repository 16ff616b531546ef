package main

import (
	"context"
	"io"

	"fmt"

	"github.com/malmo/participation-ledger/integrity"
)

const adoptUsage = `usage:
  ledger adopt --data DIR

Declares DIR the ledger of record, so that it signs checkpoints again. A data
directory is bound to its signing history (DIR/integrity/identity: the ledger,
and the directory that signs for it); a copy of it — copied, restored from a
backup, moved to a new disk — signs nothing and takes no writes until an
operator adopts it. Adopt a copy only once the directory it was copied from
no longer signs: two directories signing for one ledger fork its log. The
ledger must not be running on DIR.
`

// cmdAdopt makes a copied data directory the ledger of record.
func cmdAdopt(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("adopt", stderr)
	fs.Usage = func() { io.WriteString(stderr, adoptUsage); fs.PrintDefaults() }
	data := dataFlag(fs, getenv)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return errUsage
	}
	if _, had, err := integrity.ReadIdentity(*data); err != nil {
		return err
	} else if had && integrity.CheckIdentity(*data) == nil {
		fmt.Fprintf(stdout, "%s is already the ledger of record\n", *data)
		return nil
	}
	id, err := integrity.Adopt(*data)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is now the ledger of record of ledger %s (bound %s at signed checkpoint size %d)\n",
		*data, id.LedgerID, id.BoundAt, id.CheckpointSize)
	return nil
}
