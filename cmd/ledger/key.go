package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/malmo/participation-ledger/integrity"
)

// cmdKey prints the verifier key of the ledger's checkpoint signing key —
// what auditors pass to `ledger verify --key` — creating the key in the data
// directory on first use, as `ledger serve` would.
func cmdKey(_ context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("key", stderr)
	data := dataFlag(fs, getenv)
	opts := integrityFlags(fs, getenv)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0); err != nil {
		return err
	}
	v, err := integrity.KeyVerifier(*data, opts()...)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, v)
	return nil
}

// integrityFlags registers the flags that choose the checkpoint signing key
// and origin line, for every subcommand that opens the integrity log.
func integrityFlags(fs *flag.FlagSet, getenv env) func() []integrity.Option {
	keyFile := fs.String("signing-key-file", getenv("LEDGER_SIGNING_KEY_FILE"),
		"note signing key file (LEDGER_SIGNING_KEY_FILE; default: DATA/integrity/signing.key, created on first use)")
	origin := fs.String("origin", envOr(getenv, "LEDGER_ORIGIN", integrity.DefaultOrigin),
		"checkpoint origin line and name of a new signing key (LEDGER_ORIGIN)")
	return func() []integrity.Option {
		opts := []integrity.Option{integrity.WithOrigin(*origin)}
		if *keyFile != "" {
			opts = append(opts, integrity.WithSigningKeyFile(*keyFile))
		}
		return opts
	}
}
