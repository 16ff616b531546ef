package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Restart is P7: how long `ledger serve` takes from exec to a 200 from
// /readyz over a data directory holding ScanEvents events whose read
// models and Merkle log were checkpointed by an earlier run that shut down
// cleanly, and the peak resident memory (VmHWM) of that process when it
// is ready. It runs the real binary as a child process, so the memory is
// the process's own and nothing of the bench is counted.
func Restart() Metric {
	m := Metric{ID: "P7", Unit: "s", Name: "restart to ready (ledger serve → /readyz 200)"}
	m.Run = func(ctx context.Context, env Env) (Result, error) {
		if env.Ledger == nil {
			return Result{}, errors.New("needs the ledger binary to run as a child process")
		}
		data := env.sub("data")
		store, err := env.Open(filepath.Join(data, "store"))
		if err != nil {
			return Result{}, fmt.Errorf("open store: %w", err)
		}
		n := env.Plan.ScanEvents
		env.Log.Info("writing domain events", "events", n)
		err = fillDomain(ctx, store, NewLogGen(env.Seed), n)
		if cerr := store.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return Result{}, err
		}

		// The first start folds and hashes everything and checkpoints it
		// on the way out, as a server that has run for a while would have.
		env.Log.Info("first start: catching up", "events", n)
		began := time.Now()
		c, err := startLedger(ctx, env, data)
		if err != nil {
			return Result{}, err
		}
		if err := c.waitCaughtUp(ctx, n, 30*time.Minute); err != nil {
			c.stop()
			return Result{}, err
		}
		catchUp := time.Since(began)
		if err := c.stop(); err != nil {
			return Result{}, fmt.Errorf("first run: %w", err)
		}
		env.Log.Info("caught up", "elapsed", catchUp.Round(time.Millisecond))

		reps := max(1, env.Plan.ScanReps)
		var secs, rss []float64
		for range reps {
			start := time.Now()
			c, err := startLedger(ctx, env, data)
			if err != nil {
				return Result{}, err
			}
			err = c.waitReady(ctx, time.Minute)
			el := time.Since(start)
			var hwm int64
			if err == nil {
				hwm, err = peakRSS(c.cmd.Process.Pid)
			}
			if serr := c.stop(); err == nil {
				err = serr
			}
			if err != nil {
				return Result{}, err
			}
			env.Log.Info("rep", "ready", el.Round(time.Millisecond), "rss_mib", hwm>>20)
			secs, rss = append(secs, el.Seconds()), append(rss, float64(hwm)/(1<<20))
		}
		return Result{
			Value:  median(secs),
			AtMost: 2,
			Note: fmt.Sprintf("%d generated domain events, median of %d restarts; first start caught up in %s",
				n, reps, catchUp.Round(time.Second)),
			More: []Extra{{ID: "P7-rss", Name: "peak RSS (VmHWM) of ledger serve when ready after restart",
				Unit: "MiB", Value: median(rss), AtMost: 512}},
		}, nil
	}
	return m
}

// child is a running `ledger serve`.
type child struct {
	cmd    *exec.Cmd
	url    string
	stderr *tailBuffer
	exited chan error
}

// startLedger runs `ledger serve` on a loopback port and waits until it
// says where it listens.
func startLedger(ctx context.Context, env Env, data string) (*child, error) {
	cmd := env.Ledger(ctx, "serve", "--data", data, "--addr", "127.0.0.1:0", "--log-level", "warn", "--rate", "0")
	// The parent's LEDGER_* settings (another store, another address)
	// must not leak into the measured process.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LEDGER_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stderr: &tailBuffer{max: 8 << 10}, exited: make(chan error, 1)}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ledger serve: %w", err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), " on http://"); ok {
				addr, _, _ := strings.Cut(rest, " ")
				select {
				case urls <- "http://" + addr:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
		c.exited <- cmd.Wait()
	}()
	select {
	case c.url = <-urls:
		return c, nil
	case err := <-c.exited:
		c.exited <- err
		return nil, fmt.Errorf("ledger serve exited before listening: %v: %s", err, c.stderr)
	case <-ctx.Done():
		c.stop()
		return nil, ctx.Err()
	}
}

// waitReady polls /readyz until it answers 200.
func (c *child) waitReady(ctx context.Context, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := client.Get(c.url + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ledger serve not ready after %s: %s", limit, c.stderr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-c.exited:
			c.exited <- err
			return fmt.Errorf("ledger serve exited: %v: %s", err, c.stderr)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// waitCaughtUp waits until the read models have applied n events and a
// signed checkpoint covers them, read from /metrics.
func (c *child) waitCaughtUp(ctx context.Context, n int, limit time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(limit)
	for {
		body, err := get(client, c.url+"/metrics")
		if err == nil && metricAtLeast(body, "ledger_projection_position", n) &&
			metricAtLeast(body, "ledger_integrity_checkpoint_size", n) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ledger serve did not catch up with %d events in %s: %s", n, limit, c.stderr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-c.exited:
			c.exited <- err
			return fmt.Errorf("ledger serve exited: %v: %s", err, c.stderr)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func get(client *http.Client, url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

// metricAtLeast reports whether the Prometheus text exposition in body has
// an unlabelled sample of name that is at least n.
func metricAtLeast(body []byte, name string, n int) bool {
	for line := range bytes.Lines(body) {
		rest, ok := bytes.CutPrefix(line, []byte(name+" "))
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(string(bytes.TrimSpace(rest)), 64)
		return err == nil && v >= float64(n)
	}
	return false
}

// stop asks the child to shut down gracefully (it writes its last
// checkpoints) and waits for it.
func (c *child) stop() error {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-c.exited:
		if err != nil {
			return fmt.Errorf("ledger serve: %v: %s", err, c.stderr)
		}
		return nil
	case <-time.After(2 * time.Minute):
		_ = c.cmd.Process.Kill()
		return fmt.Errorf("ledger serve did not stop within 2 minutes: %s", c.stderr)
	}
}

// peakRSS returns the peak resident set size (VmHWM) of process pid.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, fmt.Errorf("reading the child's memory: %w", err)
	}
	return parseStatusKB(b, "VmHWM")
}

// parseStatusKB returns the field of /proc/PID/status text in bytes.
func parseStatusKB(status []byte, field string) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte(field+":"))
		if !ok {
			continue
		}
		f := strings.Fields(string(rest))
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no %s in /proc status", field)
}

// tailBuffer keeps the last max bytes written to it: a child's stderr, for
// error messages.
type tailBuffer struct {
	max int
	mu  sync.Mutex
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}
