package storetest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
)

func TestGenEventsAreValid(t *testing.T) {
	g := newGen(7)
	evs := g.events(500)
	require.NoError(t, eventstore.ValidateAppend("submission-1", eventstore.Any(), evs))
	types := map[string]bool{}
	for _, e := range evs {
		types[e.Type] = true
	}
	require.Len(t, types, 4, "the generator covers every event kind")
	require.Equal(t, evs[0].ID, newGen(7).event().ID, "the same seed gives the same events")
}

func TestBlob(t *testing.T) {
	g := newGen(8)
	for _, n := range []int{16, 17, 4096, 1 << 20, eventstore.MaxEventBytes + 1} {
		b := blob(g, n)
		require.Len(t, b, n)
		require.True(t, json.Valid(b), "size %d", n)
		require.False(t, bytes.ContainsAny(b, "\r\n"))
	}
}

func TestRunPattern(t *testing.T) {
	for name, matches := range map[string][]string{
		"TestConformance":          {"TestConformance"},
		"TestStores/pebble.v2":     {"TestStores", "pebble.v2"},
		"TestX/a_(b)/c+d":          {"TestX", "a_(b)", "c+d"},
		"TestConformanceEmbedded1": {"TestConformanceEmbedded1"},
	} {
		parts := regexp.MustCompile("/").Split(runPattern(name), -1)
		require.Len(t, parts, len(matches), name)
		for i, p := range parts {
			re := regexp.MustCompile(p)
			require.True(t, re.MatchString(matches[i]), "%s: %s must match %s", name, p, matches[i])
			require.False(t, re.MatchString(matches[i]+"x"), "%s: %s must match only %s", name, p, matches[i])
		}
	}
}
