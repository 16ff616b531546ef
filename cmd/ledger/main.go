// Command ledger runs and inspects a Participation Ledger: an event-sourced,
// tamper-evident system of record for citizen participation.
//
// Each subcommand lives in its own file (serve.go, demo.go, bench.go, …);
// this file only dispatches.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "ledger:", err)
		}
		os.Exit(exitCode(err))
	}
}

// env is how subcommands read LEDGER_* configuration (os.Getenv in main).
type env func(string) string

// command is one subcommand: it parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error
}

// commands is the whole command line on one screen.
func commands() map[string]command {
	return map[string]command{
		// one line per subcommand, in its own file
		"bench":   {"measure the event store against baselines on this disk", cmdBench},
		"key":     {"print the checkpoint signing key's verifier key", cmdKey},
		"verify":  {"verify a data directory, an export or a receipt offline", cmdVerify},
		"token":   {"create a bearer token on a ledger that is not being served", cmdToken},
		"export":  {"write an auditor or research export of the log", cmdExport},
		"serve":   {"serve the ledger: HTTP API, web pages, live feed", cmdServe},
		"demo":    {"seed a realistic Malmö-like demo history and print tokens", cmdDemo},
		"migrate": {"copy a ledger between the embedded store and KurrentDB", cmdMigrate},
		"replay":  {"rebuild a read model offline as of a position or time", cmdReplay},
		"import":  {"import a Polis conversation export as a dialogue process", cmdImport},
	}
}

// errUsage is returned after usage has been printed; the exit code is 2.
var errUsage = errors.New("usage")

// errHelp is returned after -h printed a command's flags: nothing more is
// done and the exit code is 0.
var errHelp = errors.New("help")

func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr, cmds)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ledger: unknown command %q\n\n", args[0])
		usage(stderr, cmds)
		return errUsage
	}
	if err := c.run(ctx, args[1:], getenv, stdout, stderr); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("usage: ledger <command> [flags]\n\ncommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-10s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'ledger <command> -h' for a command's flags.\n")
	io.WriteString(w, b.String())
}

// exitCode maps an error to the process exit status: 2 for usage errors,
// 1 for everything else.
func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	var ee interface{ ExitCode() int }
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return 1
}

// newFlags returns a flag set for a subcommand that reports errors instead
// of exiting, so run stays testable.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ledger "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args, mapping -h and bad flags to errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	return nil
}

// envOr returns the LEDGER_* variable key, or def when it is unset.
func envOr(getenv env, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// dataFlag registers the --data flag every subcommand that touches a ledger
// takes (LEDGER_DATA, default ./data).
func dataFlag(fs *flag.FlagSet, getenv env) *string {
	return fs.String("data", envOr(getenv, "LEDGER_DATA", "./data"), "ledger data directory (LEDGER_DATA)")
}
