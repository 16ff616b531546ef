package projections

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// genLog appends about n events of a plausible mix: supports, comments,
// submissions, notices, decisions and appeals over 20 processes and 2000
// participants. It is deterministic.
func genLog(l *ledger, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	const processes, participants = 20, 2000
	for p := range processes {
		openProcess(l, fmt.Sprintf("p%d", p), []string{"Kommunstyrelsen", "Tekniska nämnden"}[p%2], 50, domain.ModerationPost)
	}
	for u := range participants {
		register(l, fmt.Sprintf("u%d", u), []string{"Rosengård", "Fosie", "Limhamn", "Husie"}[u%4], "30-44")
	}
	var subs []string
	subProc := map[string]string{}
	supported := map[[2]string]bool{}
	var decisions []string
	decItem := map[string]string{}
	user := func() string { return "u" + strconv.Itoa(rng.IntN(participants)) }
	for i := 0; int(l.head()) < n; i++ {
		x := rng.IntN(100)
		switch {
		case x < 15 || len(subs) < 10:
			id := "s" + strconv.Itoa(i)
			p := "p" + strconv.Itoa(rng.IntN(processes))
			submit(l, id, p, user(), domain.ChannelWeb, false)
			subs, subProc[id] = append(subs, id), p
		case x < 55:
			s, u := subs[rng.IntN(len(subs))], user()
			if supported[[2]string{s, u}] {
				continue
			}
			supported[[2]string{s, u}] = true
			l.add(u, domain.RoleParticipant, &domain.SupportGiven{SubmissionID: s, ProcessID: subProc[s], ParticipantID: u})
		case x < 80:
			s := subs[rng.IntN(len(subs))]
			commentOn(l, "c"+strconv.Itoa(i), s, subProc[s], user(), false)
		case x < 90:
			s := subs[rng.IntN(len(subs))]
			l.add("x", domain.RoleParticipant, &domain.ContentFlagged{FlagID: "f" + strconv.Itoa(i), ItemID: s,
				ItemKind: domain.ItemSubmission, ContentVersion: 1, Source: domain.FlagByParticipant, FlaggedBy: "x",
				Category: domain.CategoryScams})
		case x < 97:
			s := subs[rng.IntN(len(subs))]
			id := "d" + strconv.Itoa(i)
			decide(l, "moderator-karin", id, s, domain.ItemSubmission, domain.VisibilityDisabled, nil)
			decisions, decItem[id] = append(decisions, id), s
		default:
			if len(decisions) == 0 {
				continue
			}
			d := decisions[rng.IntN(len(decisions))]
			a := "a" + strconv.Itoa(i)
			l.add("u1", domain.RoleParticipant, &domain.AppealFiled{AppealID: a, DecisionID: d, ItemID: decItem[d], ItemKind: domain.ItemSubmission, By: "u1"})
			l.add("moderator-lars", domain.RoleModerator, &domain.AppealDecided{AppealID: a, DecisionID: d, ItemID: decItem[d],
				ItemKind: domain.ItemSubmission, Outcome: domain.AppealOverturned, Moderator: "moderator-lars"})
		}
	}
}

func BenchmarkApplyAllModels(b *testing.B) {
	l := newLedger(b)
	genLog(l, 20_000)
	evs, err := l.s.ReadAll(context.Background(), 0, eventstore.MaxReadLimit)
	require.NoError(b, err)
	b.ResetTimer()
	for b.Loop() {
		ms := allModels()
		for _, ev := range evs {
			de := decode(ev)
			for _, m := range ms {
				m.Apply(ev, de)
			}
		}
	}
	b.ReportMetric(float64(len(evs)*b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestBigLogAsOf measures catch-up, checkpoint and as-of costs on a large
// log. It runs only with LEDGER_PROJECTIONS_BIG=<events>.
func TestBigLogAsOf(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("LEDGER_PROJECTIONS_BIG"))
	if n == 0 {
		t.Skip("set LEDGER_PROJECTIONS_BIG=<events> to run")
	}
	l := newLedger(t)
	began := time.Now()
	genLog(l, n)
	t.Logf("generated %d events in %v", l.head(), time.Since(began))

	dir := t.TempDir()
	ms := allModels()
	r, err := NewRunner(l.s, Config{Dir: dir}, ms...)
	require.NoError(t, err)
	began = time.Now()
	count, err := r.Rebuild(context.Background())
	require.NoError(t, err)
	el := time.Since(began)
	t.Logf("rebuild with checkpoints and snapshots: %d events in %v (%.0f events/s)", count, el, float64(count)/el.Seconds())
	var total int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, _ error) error {
		if fi != nil && !fi.IsDir() {
			total += fi.Size()
		}
		return nil
	})
	t.Logf("checkpoints+snapshots on disk: %.1f MB", float64(total)/1e6)
	for _, m := range ms {
		if fi, err := os.Stat(checkpointPath(dir, m.Name())); err == nil {
			t.Logf("checkpoint of %s: %.1f MB", m.Name(), float64(fi.Size())/1e6)
		}
	}

	for _, pos := range []eventstore.Position{l.head() / 3, l.head() - 1} {
		for _, m := range []Model{NewTransparency(), NewSubmissions(), NewProcesses()} {
			began = time.Now()
			_, err := asOf(context.Background(), l.s, dir, m, pos)
			require.NoError(t, err)
			t.Logf("as-of %d of %s: %v", pos, m.Name(), time.Since(began))
		}
	}
	began = time.Now()
	p, err := PositionAt(context.Background(), l.s, base.Add(time.Duration(n/2)*time.Minute))
	require.NoError(t, err)
	t.Logf("time → position %d: %v", p, time.Since(began))
}
