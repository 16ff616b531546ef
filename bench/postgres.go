package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// postgres is a throwaway PostgreSQL cluster in the bench directory,
// listening only on 127.0.0.1, used as the event-store baseline a Marten
// (or any "events table in Postgres") user would run.
type postgres struct {
	bin     string // directory holding initdb, pg_ctl, psql and pgbench
	dir     string // owned by the server's user; holds data/, the log and the script
	port    int
	clients int
	runAs   string // system user for the server tools when we are root; "" otherwise
	log     *slog.Logger
}

// pgSchema is an event store table as Marten and most hand-written Postgres
// event stores have it: a global sequence, JSONB bodies and a unique index on
// (stream, revision) that turns a concurrent append into a conflict.
const pgSchema = `CREATE TABLE events (
  position    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  stream      text        NOT NULL,
  revision    bigint      NOT NULL,
  id          uuid        NOT NULL,
  type        text        NOT NULL,
  version     int         NOT NULL,
  data        jsonb       NOT NULL,
  metadata    jsonb       NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (stream, revision)
);`

// startPostgres finds the PostgreSQL binaries, initialises a cluster below
// env.Dir and starts it. Any error means the baseline cannot run here; the
// caller reports it as skipped.
func startPostgres(ctx context.Context, env Env, clients int) (*postgres, error) {
	if env.NoPostgres {
		return nil, errors.New("disabled (--no-postgres)")
	}
	bin, err := findPostgres()
	if err != nil {
		return nil, err
	}
	p := &postgres{bin: bin, dir: env.sub("pg"), clients: clients, log: env.Log}
	if err := os.Mkdir(p.dir, 0o700); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and there is no postgres system user to run the server as: %w", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			return nil, fmt.Errorf("running as root and runuser is missing: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(p.dir, uid, gid); err != nil {
			return nil, err
		}
		p.runAs = "postgres"
	}
	data := filepath.Join(p.dir, "data")
	// --no-sync only skips initdb's own final flush of the template files;
	// the running server still fsyncs every commit.
	if _, err := p.run(ctx, true, "initdb", "-D", data, "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		return nil, err
	}
	if p.port, err = freePort(); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("\n# ledger bench\nlisten_addresses = '127.0.0.1'\nport = %d\n"+
		"unix_socket_directories = ''\nmax_connections = %d\nfsync = on\nsynchronous_commit = on\n",
		p.port, clients+10)
	if err := appendFile(filepath.Join(data, "postgresql.conf"), conf); err != nil {
		return nil, err
	}
	if _, err := p.run(ctx, true, "pg_ctl", "start", "-D", data, "-l", filepath.Join(p.dir, "server.log"),
		"-w", "-t", "60"); err != nil {
		p.stop() // it may have come up after all
		return nil, err
	}
	if _, err := p.run(ctx, false, "psql", p.conn("-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", pgSchema, "postgres")...); err != nil {
		p.stop()
		return nil, err
	}
	script := filepath.Join(p.dir, "append.sql")
	if err := os.WriteFile(script, []byte(pgbenchScript(NewGen(env.Seed))), 0o644); err != nil {
		p.stop()
		return nil, err
	}
	env.Log.Info("postgres started", "bin", bin, "port", p.port)
	return p, nil
}

// bench runs pgbench with the append script for about d and returns the
// transactions (= events) per second it reports.
func (p *postgres) bench(ctx context.Context, d time.Duration) (float64, error) {
	// At least a few seconds: connecting the clients is not timed, but on a
	// loaded machine a 1 s run can end before any of them has committed.
	secs := max(3, int(math.Ceil(d.Seconds())))
	jobs := min(p.clients, runtime.NumCPU())
	out, err := p.run(ctx, false, "pgbench", p.conn("-n", "-M", "prepared",
		"-c", strconv.Itoa(p.clients), "-j", strconv.Itoa(jobs), "-T", strconv.Itoa(secs),
		"-f", filepath.Join(p.dir, "append.sql"), "postgres")...)
	if err != nil {
		return 0, err
	}
	return parsePgbenchTPS(out)
}

// stop shuts the server down; it runs on every path out of the metric,
// including an interrupt, so it does not use the (possibly cancelled) ctx.
func (p *postgres) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := p.run(ctx, true, "pg_ctl", "stop", "-D", filepath.Join(p.dir, "data"), "-m", "fast", "-w", "-t", "60"); err != nil {
		p.log.Warn("stopping postgres", "err", err)
	}
}

func (p *postgres) conn(args ...string) []string {
	return append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(p.port), "-U", "postgres"}, args...)
}

// run runs one of the PostgreSQL tools; server tools run as p.runAs.
func (p *postgres) run(ctx context.Context, server bool, tool string, args ...string) ([]byte, error) {
	path := filepath.Join(p.bin, tool)
	var cmd *exec.Cmd
	if server && p.runAs != "" {
		cmd = exec.CommandContext(ctx, "runuser", append([]string{"-u", p.runAs, "--", path}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, path, args...)
	}
	cmd.Dir = p.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", tool, err, lastLines(out, 3))
	}
	return out, nil
}

// findPostgres returns the directory with the PostgreSQL tools: initdb's on
// PATH, else the newest /usr/lib/postgresql/*/bin (Debian keeps them there).
func findPostgres() (string, error) {
	var dirs []string
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		dirs = append(dirs, filepath.Dir(p))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(found, func(a, b string) int {
		va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(a)), 64)
		vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(b)), 64)
		return int(math.Copysign(1, vb-va))
	})
	dirs = append(dirs, found...)
	for _, d := range dirs {
		ok := true
		for _, tool := range []string{"initdb", "pg_ctl", "psql", "pgbench"} {
			if _, err := os.Stat(filepath.Join(d, tool)); err != nil {
				ok = false
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", errors.New("initdb, pg_ctl, psql and pgbench not found on PATH or in /usr/lib/postgresql/*/bin (install the postgresql package)")
}

// pgbenchScript is one append per transaction: the next revision of the
// client's own stream, taken under the unique index as an event store on
// Postgres does, with a body and metadata like the store's events.
func pgbenchScript(g *Gen) string {
	e := g.Event()
	md, err := json.Marshal(e.Metadata)
	if err != nil {
		panic(err) // cannot happen: strings and a time
	}
	return fmt.Sprintf(`INSERT INTO events (stream, revision, id, type, version, data, metadata)
SELECT 'submission-' || :client_id, COALESCE(MAX(revision) + 1, 0), gen_random_uuid(), %s, %d, %s, %s
FROM events WHERE stream = 'submission-' || :client_id;
`, sqlString(e.Type), e.Version, sqlString(string(e.Data)), sqlString(string(md)))
}

// sqlString quotes s as an SQL literal that pgbench leaves alone: pgbench
// substitutes ":name" anywhere, even inside quotes, so JSON's `":` gets a
// space (insignificant to jsonb).
func sqlString(s string) string {
	s = strings.ReplaceAll(s, `'`, `''`)
	s = strings.ReplaceAll(s, `":`, `": `)
	return "'" + s + "'"
}

var (
	tpsRE    = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \((without initial connection time|excluding connections establishing)\)`)
	failedRE = regexp.MustCompile(`number of failed transactions: ([1-9][0-9]*)`)
)

// parsePgbenchTPS finds the throughput in pgbench's report.
func parsePgbenchTPS(out []byte) (float64, error) {
	if m := failedRE.FindSubmatch(out); m != nil {
		return 0, fmt.Errorf("pgbench: %s failed transactions", m[1])
	}
	m := tpsRE.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("pgbench: no tps in output: %s", lastLines(out, 3))
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(b, nil))), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}
