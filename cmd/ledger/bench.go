package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/bench"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/ledger"
)

// benchMetrics is every metric `ledger bench` knows, in report order. Add a
// metric by writing its constructor in package bench and listing it here.
func benchMetrics() []bench.Metric {
	return []bench.Metric{
		bench.DurableAppend(),     // P1
		bench.BatchAppend(),       // P2
		bench.ConcurrentAppend(),  // P3
		bench.HTTPWrite(),         // P4 (+ latency and receipt lines)
		bench.Scan(),              // P5-scan
		bench.Rebuild(),           // P5
		bench.IntegrityOverhead(), // P6
		bench.Restart(),           // P7 (+ P7-rss)
		bench.LiveLatency(),       // P8
		bench.ExportNDJSON(),      // P9 (+ P9-size per 1M events)
	}
}

// cmdBench measures the embedded store against baselines run on the same
// disk in the same run, like pgbench: users measure their own disks.
func cmdBench(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	quick := fs.Bool("quick", false, "short run (under a minute); the default is the full reference run")
	asJSON := fs.Bool("json", false, "print one JSON object per line instead of a table")
	dir := fs.String("dir", envOr(getenv, "LEDGER_BENCH_DIR", ""), "directory on the disk to measure (LEDGER_BENCH_DIR; default: next to the data directory)")
	only := fs.String("only", "", "comma-separated metric ids to run, e.g. P1,P3")
	noPG := fs.Bool("no-postgres", false, "skip the PostgreSQL baseline")
	seed := fs.Uint64("seed", 1, "seed for the generated events")
	data := dataFlag(fs, getenv)
	if err := parseFlags(fs, args, getenv); err != nil {
		return err
	}
	if err := needFlags(fs, 0); err != nil {
		return err
	}
	var ids []string
	if *only != "" {
		ids = strings.Split(*only, ",")
	}
	metrics, err := bench.Select(benchMetrics(), ids)
	if err != nil {
		return err
	}
	base, err := benchDir(*dir, *data)
	if err != nil {
		return err
	}
	defer os.RemoveAll(base)

	plan := bench.FullPlan()
	if *quick {
		plan = bench.QuickPlan()
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	log.Info("bench", "dir", base, "quick", *quick, "metrics", len(metrics))
	env := bench.Env{
		Dir:        base,
		Open:       func(dir string) (eventstore.Store, error) { return embedded.Open(dir) },
		Plan:       plan,
		Seed:       *seed,
		NoPostgres: *noPG,
		Log:        log,
	}
	env.Serve = benchServe
	// The restart metric measures this very binary as a child process.
	if self, err := os.Executable(); err == nil {
		env.Ledger = func(ctx context.Context, args ...string) *exec.Cmd {
			return exec.CommandContext(ctx, self, args...)
		}
	}
	var lines []bench.Line
	emit := func(l bench.Line) error { lines = append(lines, l); return nil }
	if *asJSON {
		emit = bench.JSONEmitter(stdout)
	}
	if err := bench.Run(ctx, env, metrics, emit); err != nil {
		return err
	}
	if !*asJSON {
		return bench.WriteTable(stdout, lines)
	}
	return nil
}

// benchDir makes the scratch directory: inside dir when given, else next to
// the data directory (the disk the ledger uses), else in the system temp dir.
// It is world-searchable so that PostgreSQL, run as its own user when we are
// root, can reach its data directory inside.
func benchDir(dir, data string) (string, error) {
	parent := dir
	if parent == "" {
		if abs, err := filepath.Abs(data); err == nil {
			parent = filepath.Dir(abs)
		}
	}
	d, err := os.MkdirTemp(parent, "ledger-bench-")
	if err != nil && dir == "" {
		d, err = os.MkdirTemp("", "ledger-bench-")
	}
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		os.RemoveAll(d)
		return "", fmt.Errorf("bench: %w", err)
	}
	return d, nil
}

// benchServe starts a ledger node in dir serving its API on a loopback port
// (rate limit off, as measured from outside with wrk), with an official and
// the given number of registered participants, each with a token.
func benchServe(ctx context.Context, dir string, participants int) (_ *bench.Server, err error) {
	n, err := openNode(ctx, nodeConfig{dataDir: dir})
	if err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- n.Run(runCtx) }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stop()
		<-ran
		n.Close()
		return nil, err
	}
	hs := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	srv := &bench.Server{URL: "http://" + ln.Addr().String(), Integrity: n.integrity}
	srv.Close = func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		herr := hs.Shutdown(sctx)
		stop()
		return errors.Join(herr, <-ran, n.Close())
	}
	defer func() {
		if err != nil {
			srv.Close()
		}
	}()
	boot := domain.Actor{ID: "bench", Role: domain.RoleAdmin}
	token := func(name string, role domain.Role, participant string) (string, error) {
		res, err := n.svc.IssueToken(ctx, boot, ledger.Request[ledger.IssueToken]{IdempotencyKey: "bench-token-" + name,
			Command: ledger.IssueToken{Name: name, Role: role, Participant: participant}})
		return res.Token, err
	}
	if srv.Official, err = token("official", domain.RoleOfficial, ""); err != nil {
		return nil, err
	}
	intake := domain.Actor{ID: "bench-intake", Role: domain.RoleIntake}
	for i := range participants {
		res, err := n.svc.RegisterParticipant(ctx, intake, ledger.Request[domain.RegisterParticipant]{
			IdempotencyKey: fmt.Sprint("bench-participant-", i),
			Command: domain.RegisterParticipant{Pseudonym: fmt.Sprint("invånare-", i), Name: fmt.Sprint("Invånare ", i),
				Email: fmt.Sprintf("invanare%d@example.se", i), Language: "sv"}})
		if err != nil {
			return nil, err
		}
		t, err := token(fmt.Sprint("participant-", i), domain.RoleParticipant, res.ID)
		if err != nil {
			return nil, err
		}
		srv.Participants = append(srv.Participants, t)
	}
	return srv, nil
}
