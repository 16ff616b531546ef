package storetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

func (s *suite) testReopen(t *testing.T) {
	t.Run("Empty", func(t *testing.T) {
		dir := t.TempDir()
		st := s.h.Open(t, dir)
		require.NoError(t, st.Close())
		st = s.open(t, dir)
		require.Zero(t, head(t, st))
		res := mustAppend(t, st, "process-1", eventstore.NoStream(), newGen(40).event())
		require.Equal(t, eventstore.Position(1), res.Last().Position)
	})

	dir := t.TempDir()
	g := newGen(41)
	st := s.h.Open(t, dir)
	var want []eventstore.Event
	var batches []struct {
		stream string
		data   []eventstore.EventData
		res    eventstore.AppendResult
	}
	for i := range 30 {
		stream := fmt.Sprintf("submission-%d", i%4)
		data := g.events(1 + i%3)
		res := mustAppend(t, st, stream, eventstore.Any(), data...)
		want = append(want, res.Events...)
		batches = append(batches, struct {
			stream string
			data   []eventstore.EventData
			res    eventstore.AppendResult
		}{stream, data, res})
	}
	require.NoError(t, st.Close())

	for round := range 2 {
		st = s.h.Open(t, dir)
		require.NotNil(t, st)
		require.Equal(t, eventstore.Position(len(want)), head(t, st), "round %d", round)
		requireSameEvents(t, want, readAll(t, st))
		for i := range 4 {
			stream := fmt.Sprintf("submission-%d", i)
			var ofStream []eventstore.Event
			for _, e := range want {
				if e.Stream == stream {
					ofStream = append(ofStream, e)
				}
			}
			requireSameEvents(t, ofStream, readStream(t, st, stream))
		}

		// Idempotency survives the reopen.
		for _, b := range []int{0, 7, len(batches) - 1} {
			res, err := st.Append(testCtx(t), batches[b].stream, eventstore.Any(), batches[b].data...)
			require.NoError(t, err)
			requireSameEvents(t, batches[b].res.Events, res.Events)
		}
		_, err := st.Append(testCtx(t), "process-new", eventstore.Any(), batches[3].data...)
		require.ErrorIs(t, err, eventstore.ErrInvalid, "stored ids in another stream after reopen")
		require.Equal(t, eventstore.Position(len(want)), head(t, st))

		// Expected revisions and positions continue where they were.
		last := readStream(t, st, "submission-1")
		lastRev := last[len(last)-1].Revision
		_, err = st.Append(testCtx(t), "submission-1", eventstore.NoStream(), g.event())
		requireWrongExpected(t, err, "submission-1", eventstore.NoStream(), lastRev, true)
		res := mustAppend(t, st, "submission-1", eventstore.Exact(lastRev), g.events(2)...)
		require.Equal(t, lastRev+1, res.Events[0].Revision)
		require.Equal(t, eventstore.Position(len(want)+1), res.Events[0].Position)
		want = append(want, res.Events...)
		res = mustAppend(t, st, fmt.Sprintf("process-%d", round), eventstore.NoStream(), g.event())
		require.Equal(t, eventstore.Position(len(want)+1), res.Last().Position)
		require.Equal(t, uint64(0), res.Last().Revision)
		want = append(want, res.Events...)
		require.NoError(t, st.Close())
	}
}

// Crash recovery: the test binary runs itself as a child that appends until
// it is killed. These variables tell the child which store and test it is.
const (
	envCrashDir  = "STORETEST_CRASH_DIR"
	envCrashTest = "STORETEST_CRASH_TEST"
	ackPrefix    = "storetest-ack"
	childWriters = 4
	childLife    = 60 * time.Second // the child exits by itself if nobody kills it
)

// maybeCrashChild turns this process into the crash child when the
// environment names this test. It never returns in the child.
func maybeCrashChild(t *testing.T, h Harness) {
	dir := os.Getenv(envCrashDir)
	if dir == "" || os.Getenv(envCrashTest) != t.Name() {
		return
	}
	st := h.Open(t, dir)
	var mu sync.Mutex
	ack := func(res eventstore.AppendResult) {
		// One write per batch: a pipe write this small is atomic, so the
		// parent never sees half a line even when killed mid-write.
		var b []byte
		for _, e := range res.Events {
			b = fmt.Appendf(b, "%s %s %s %d %d\n", ackPrefix, e.ID, e.Stream, e.Revision, e.Position)
		}
		mu.Lock()
		defer mu.Unlock()
		if _, err := os.Stdout.Write(b); err != nil {
			os.Exit(4)
		}
	}
	for w := range childWriters {
		go func() {
			g := newGen(uint64(time.Now().UnixNano()) + uint64(w))
			own := fmt.Sprintf("submission-crash-%d", w)
			next := eventstore.NoStream()
			for n := 0; ; n++ {
				stream, exp := own, next
				if w%2 == 1 {
					// Shared streams with Any, so writers contend.
					stream, exp = fmt.Sprintf("comment-crash-%d", g.rng.IntN(3)), eventstore.Any()
				}
				batch := g.events(1 + g.rng.IntN(4))
				for i := range batch {
					batch[i].Data = crashData(batch[i].ID, w, n)
				}
				res, err := st.Append(context.Background(), stream, exp, batch...)
				if err != nil {
					fmt.Fprintf(os.Stderr, "storetest crash child: writer %d: %v\n", w, err)
					os.Exit(3)
				}
				ack(res)
				if stream == own {
					next = eventstore.Exact(res.Last().Revision)
				}
			}
		}()
	}
	time.Sleep(childLife)
	os.Exit(0)
}

// crashData is an event body that names its own event, so a recovered event
// whose body belongs to another event is detected.
func crashData(id uuid.UUID, writer, n int) []byte {
	return fmt.Appendf(nil, `{"id":%q,"writer":%d,"n":%d,"text":"Skadegörelse på lekplatsen i Rosengård – åtgärda snarast"}`, id, writer, n)
}

type acked struct {
	stream   string
	revision uint64
	position eventstore.Position
}

func (s *suite) testCrashRecovery(t *testing.T) {
	for _, c := range []struct {
		name  string
		acks  int
		pause time.Duration
	}{
		{"KillAfter200Acks", 200, 0},
		{"KillAfter700AcksAndAPause", 700, 3 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) { s.crashOnce(t, c.acks, c.pause) })
	}
}

// crashOnce runs a crash child on a fresh directory, kills it with SIGKILL
// after it has acknowledged at least killAfter events (or after a bounded
// time), reopens the store and checks every acknowledged event survived.
func (s *suite) crashOnce(t *testing.T, killAfter int, pause time.Duration) {
	dir := t.TempDir()
	exe, err := os.Executable()
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(testCtx(t), 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, "-test.run="+runPattern(s.name), "-test.count=1", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), envCrashDir+"="+dir, envCrashTest+"="+s.name)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	start := time.Now()
	// If the child is too slow to reach killAfter, kill it anyway: what it
	// acknowledged so far is still checked.
	fallback := time.AfterFunc(15*time.Second, func() { _ = cmd.Process.Kill() })
	defer fallback.Stop()

	acks := map[uuid.UUID]acked{}
	killedAt := -1
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 5 || f[0] != ackPrefix {
			continue // output of the harness or the testing package
		}
		id, err1 := uuid.Parse(f[1])
		rev, err2 := strconv.ParseUint(f[3], 10, 64)
		pos, err3 := strconv.ParseUint(f[4], 10, 64)
		require.NoError(t, err1)
		require.NoError(t, err2)
		require.NoError(t, err3)
		_, dup := acks[id]
		require.False(t, dup, "event %s acknowledged twice", id)
		acks[id] = acked{stream: f[2], revision: rev, position: eventstore.Position(pos)}
		if killedAt < 0 && len(acks) >= killAfter {
			time.Sleep(pause)
			killedAt = len(acks)
			require.NoError(t, cmd.Process.Kill()) // SIGKILL: no chance to flush or close
		}
	}
	require.NoError(t, sc.Err())
	waitErr := cmd.Wait()
	require.Error(t, waitErr, "the crash child must be killed, not exit; stderr:\n%s", stderr.String())
	require.Equal(t, -1, cmd.ProcessState.ExitCode(), "crash child ended by itself (%v); stderr:\n%s", waitErr, stderr.String())
	t.Logf("child killed after %v with %d events acknowledged (%d when the kill was sent)", time.Since(start).Round(time.Millisecond), len(acks), killedAt)
	require.NotEmpty(t, acks, "the crash child acknowledged nothing; stderr:\n%s", stderr.String())

	st := s.open(t, dir)
	all := readAll(t, st) // checks positions are dense from 1
	h := head(t, st)
	require.Equal(t, eventstore.Position(len(all)), h)
	require.GreaterOrEqual(t, len(all), len(acks), "fewer events than acknowledged")

	byID := make(map[uuid.UUID]eventstore.Event, len(all))
	revs := map[string]uint64{}
	for _, e := range all {
		_, dup := byID[e.ID]
		require.False(t, dup, "event %s recovered twice", e.ID)
		byID[e.ID] = e
		require.Equal(t, revs[e.Stream], e.Revision, "%s: revisions dense after recovery", e.Stream)
		revs[e.Stream]++
		var body struct {
			ID string `json:"id"`
		}
		require.NoError(t, json.Unmarshal(e.Data, &body), "position %d", e.Position)
		require.Equal(t, e.ID.String(), body.ID, "position %d holds another event's data", e.Position)
	}
	for id, a := range acks {
		e, ok := byID[id]
		require.True(t, ok, "acknowledged event %s (position %d) lost", id, a.position)
		require.Equal(t, a.position, e.Position, "event %s moved", id)
		require.Equal(t, a.stream, e.Stream)
		require.Equal(t, a.revision, e.Revision)
	}

	// Recovered state accepts writes where it left off, and still knows
	// the recovered IDs.
	for id, a := range acks {
		res, err := st.Append(testCtx(t), a.stream, eventstore.Any(), eventstore.EventData{
			ID: id, Type: "Retry", Version: 1, Data: []byte(`{}`),
		})
		require.NoError(t, err, "retrying acknowledged event %s", id)
		require.Equal(t, a.position, res.Last().Position)
		break
	}
	require.Equal(t, h, head(t, st))
	g := newGen(50)
	exp := eventstore.NoStream()
	if n := revs["submission-crash-0"]; n > 0 {
		exp = eventstore.Exact(n - 1)
	}
	res := mustAppend(t, st, "submission-crash-0", exp, g.event())
	require.Equal(t, h+1, res.Last().Position)
	require.Equal(t, revs["submission-crash-0"], res.Last().Revision)
	res = mustAppend(t, st, "process-after-crash", eventstore.NoStream(), g.events(2)...)
	require.Equal(t, h+3, res.Last().Position)
	requireSameEvents(t, res.Events, readStream(t, st, "process-after-crash"))
}

// runPattern is a -test.run pattern that selects exactly the test (or
// subtest) named name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// tailBuffer keeps the last few KiB written to it, for failure messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if over := b.buf.Len() - 8<<10; over > 0 {
		b.buf.Next(over)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
