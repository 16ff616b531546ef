package bench_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/bench"
	"github.com/malmo/participation-ledger/domain"
)

func TestReadSideAndIntegrityMetrics(t *testing.T) {
	env := tinyEnv(t)
	env.Plan.ScanReps = 1
	var lines []bench.Line
	emit := func(l bench.Line) error { lines = append(lines, l); return nil }
	require.NoError(t, bench.Run(context.Background(), env,
		[]bench.Metric{bench.Rebuild(), bench.IntegrityOverhead(), bench.LiveLatency()}, emit))
	require.Len(t, lines, 4)

	p5, asOf, p6, p8 := lines[0], lines[1], lines[2], lines[3]
	assert.Equal(t, "P5-asof", asOf.Metric)
	assert.Equal(t, "s", asOf.Unit)
	assert.Equal(t, "P5", p5.Metric)
	assert.Equal(t, "≥0.6", p5.Target)
	require.NotNil(t, p5.Baseline)
	assert.Greater(t, *p5.Baseline, 0.0)
	assert.Greater(t, p5.Value, 0.0)

	assert.Equal(t, "P6", p6.Metric)
	assert.Equal(t, "≥0.9", p6.Target)
	require.NotNil(t, p6.Ratio)

	assert.Equal(t, "P8", p8.Metric)
	assert.Equal(t, "ms", p8.Unit)
	assert.Equal(t, "≤50", p8.Target)
	require.NotNil(t, p8.Met)
	assert.Equal(t, p8.Value <= 50, *p8.Met)
	assert.Greater(t, p8.Value, 0.0, "delivery takes some time")
}

func TestRestartNeedsTheBinary(t *testing.T) {
	env := tinyEnv(t)
	err := bench.Run(context.Background(), env, []bench.Metric{bench.Restart()}, func(bench.Line) error { return nil })
	require.ErrorContains(t, err, "ledger binary")
}

func TestBudgetAndExtraLines(t *testing.T) {
	m := bench.Metric{ID: "PX", Name: "restart", Unit: "s"}
	lines := bench.Lines(m, bench.Result{Value: 2.5, AtMost: 2,
		More: []bench.Extra{{ID: "PX-rss", Name: "memory", Unit: "MiB", Value: 300, AtMost: 512}}})
	require.Len(t, lines, 2)
	assert.Equal(t, "≤2", lines[0].Target)
	require.NotNil(t, lines[0].Met)
	assert.False(t, *lines[0].Met)
	assert.Equal(t, "PX-rss", lines[1].Metric)
	assert.Equal(t, "MiB", lines[1].Unit)
	require.NotNil(t, lines[1].Met)
	assert.True(t, *lines[1].Met)
}

func TestLogGenIsDeterministicDomainEvents(t *testing.T) {
	a, b := bench.NewLogGen(3), bench.NewLogGen(3)
	kinds := map[string]int{}
	for i := range 20_000 {
		sa, ea := a.Next()
		sb, eb := b.Next()
		require.Equal(t, sa, sb)
		require.Equal(t, ea, eb)
		de, err := domain.Decode(ea.Type, ea.Version, ea.Data)
		require.NoError(t, err, "event %d (%s) decodes", i, ea.Type)
		require.Equal(t, domain.StreamOf(de), sa)
		kinds[ea.Type]++
		if i%4096 == 0 {
			a.Publish()
			b.Publish()
		}
	}
	for _, typ := range []string{"ProcessOpened", "ParticipantRegistered", "SubmissionReceived", "SupportGiven",
		"CommentPosted", "ContentFlagged", "ModerationDecided", "AppealFiled", "AppealDecided"} {
		assert.Positive(t, kinds[typ], typ)
	}
	assert.False(t, strings.Contains(string(mustNext(a)), "\n"))
}

func mustNext(g *bench.LogGen) []byte { _, e := g.Next(); return e.Data }
