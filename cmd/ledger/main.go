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
	"regexp"
	"sort"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if msg := errorLine(err); msg != "" {
			fmt.Fprintln(os.Stderr, "ledger:", msg)
		}
		os.Exit(exitCode(err))
	}
}

// errorLine is what main prints for err: nothing after a bare usage error
// (the usage is already printed), else the message without the
// ": usage" that wrapping errUsage leaves.
func errorLine(err error) string {
	if err == errUsage {
		return ""
	}
	return strings.TrimSuffix(err.Error(), ": "+errUsage.Error())
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
		"adopt":   {"declare a copied data directory the ledger of record", cmdAdopt},
		"backup":  {"write a consistent backup of a ledger, served or not", cmdBackup},
		"restore": {"make a data directory of a backup, verified and adopted", cmdRestore},
	}
}

// errUsage is returned after usage has been printed; the exit code is 2.
var errUsage = errors.New("usage")

// errHelp is returned after -h printed a command's flags: nothing more is
// done and the exit code is 0.
var errHelp = errors.New("help")

// Exit codes: 0 success (and -h), 1 failure, 2 a usage error (a bad
// command, flag or value: the message names what is valid), 3 from
// `ledger verify` when it checked everything it could but there was no
// signed checkpoint to check against.
func run(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	cmds := commands()
	switch {
	case len(args) == 0:
		usage(stderr, cmds)
		return errUsage
	case args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" && len(args) == 1:
		usage(stdout, cmds)
		return nil
	case args[0] == "--version" || args[0] == "-version" || args[0] == "version":
		if len(args) > 1 {
			return usagef("%s takes no arguments", args[0])
		}
		fmt.Fprintln(stdout, currentBuild())
		return nil
	case args[0] == "help":
		// ledger help CMD is ledger CMD -h.
		if len(args) > 2 {
			return usagef("help takes one command, e.g. ledger help %s", args[1])
		}
		args = []string{args[1], "-h"}
	}
	c, ok := cmds[args[0]]
	if !ok {
		usage(stderr, cmds)
		return usagef("unknown command %q; the commands are %s", args[0], strings.Join(commandNames(cmds), ", "))
	}
	if err := c.run(ctx, args[1:], getenv, stdout, stderr); !errors.Is(err, errHelp) {
		return err
	}
	return nil
}

func commandNames(cmds map[string]command) []string {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func usage(w io.Writer, cmds map[string]command) {
	var b strings.Builder
	b.WriteString("usage: ledger <command> [flags]\n       ledger help <command>\n       ledger --version\n\ncommands:\n")
	for _, n := range commandNames(cmds) {
		fmt.Fprintf(&b, "  %-10s %s\n", n, cmds[n].summary)
	}
	b.WriteString("\nRun 'ledger help <command>' (or 'ledger <command> -h') for a command's flags.\n" +
		"Every flag can also be set by the environment variable its help names;\n" +
		"a flag on the command line wins. Exit status: 0 success, 1 failure,\n" +
		"2 usage error, 3 verify found no signed checkpoint to check against.\n")
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

// needFlags is the usage error, naming what is wrong, for a command that
// got other than args positional arguments or lacks a required flag.
func needFlags(fs *flag.FlagSet, args int, required ...string) error {
	full := strings.TrimPrefix(fs.Name(), "ledger ")
	cmd, _, _ := strings.Cut(full, " ")
	if fs.NArg() > args {
		return usagef("unexpected argument %q (flags go before arguments; see ledger help %s)", fs.Arg(args), cmd)
	}
	if fs.NArg() < args {
		return usagef("ledger %s needs %d argument(s), found %d (see ledger help %s)", full, args, fs.NArg(), cmd)
	}
	for _, n := range required {
		if f := fs.Lookup(n); f != nil && f.Value.String() == "" {
			return usagef("--%s is required (see ledger help %s)", n, cmd)
		}
	}
	return nil
}

// usagef is a usage error (exit status 2) with a message that names what
// is valid.
func usagef(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, errUsage)...)
}

// parseFlags gives every flag of fs its environment variable, applies the
// environment, then parses args (so a flag given wins over its variable,
// which wins over the default), mapping -h to errHelp and bad flags to
// errUsage. A flag's variable is the LEDGER_* name its usage already
// mentions (the shared ones: LEDGER_DATA, LEDGER_STORE, …), else
// LEDGER_<COMMAND>_<FLAG>, e.g. LEDGER_EXPORT_KIND; -h lists it.
func parseFlags(fs *flag.FlagSet, args []string, getenv env) error {
	var bad []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(fs.Name(), f)
		if !strings.Contains(f.Usage, name) {
			f.Usage += " (" + name + ")"
		}
		if v := getenv(name); v != "" {
			if err := fs.Set(f.Name, v); err != nil {
				bad = append(bad, fmt.Errorf("%s=%q: %v", name, v, err))
			}
		}
	})
	if len(bad) > 0 {
		return usagef("%w", errors.Join(bad...))
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return errUsage
	}
	return nil
}

var ledgerVar = regexp.MustCompile(`\bLEDGER_[A-Z0-9_]+\b`)

// envName is the environment variable of flag f of the command named
// cmdName ("ledger export", "ledger token create").
func envName(cmdName string, f *flag.Flag) string {
	if v := ledgerVar.FindString(f.Usage); v != "" {
		return v
	}
	cmd, _, _ := strings.Cut(strings.TrimPrefix(cmdName, "ledger "), " ")
	return strings.ToUpper("LEDGER_" + cmd + "_" + strings.ReplaceAll(f.Name, "-", "_"))
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
