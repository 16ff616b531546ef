package dsa_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/demo"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/dsa"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/projections"
)

// TestEveryDemoRestrictionPasses seeds the demo as `ledger demo` does
// (normal size, seed 1) and checks that every restricting decision becomes
// a statement the database's rules accept, in bulk bodies it accepts.
func TestEveryDemoRestrictionPasses(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds the normal-size demo")
	}
	ctx := context.Background()
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	_, err = demo.Seed(ctx, ledger.New(store, keys), demo.Config{Seed: 1, Size: demo.Normal})
	require.NoError(t, err)

	// Count the restrictions directly from the log, apart from Collect.
	evs, err := store.ReadAll(ctx, 0, eventstore.MaxReadLimit)
	require.NoError(t, err)
	decisions, restrictions := 0, 0
	report := projections.NewTransparency()
	for _, e := range evs {
		de, err := domain.Decode(e.Type, e.Version, e.Data)
		require.NoError(t, err)
		report.Apply(e, de)
		if e.Type != "ModerationDecided" {
			continue
		}
		assert.Equal(t, 2, e.Version, "the demo writes the current version")
		decisions++
		if de.(*domain.ModerationDecided).Visibility.Restricts() {
			restrictions++
		}
	}

	// The transparency report shows current categories only.
	byCategory := report.Report(projections.ReportQuery{}).ByCategory
	require.NotEmpty(t, byCategory)
	for c := range byCategory {
		assert.NotEmpty(t, domain.Category(c).DSA(), "report category %q is not a current DSA category", c)
	}
	t.Logf("report by category: %v", byCategory)

	res, err := dsa.Collect(ctx, store, 0)
	require.NoError(t, err)
	t.Logf("demo: %d decisions, %d restricting, %d statements accepted, %d held back", decisions, restrictions,
		len(res.Statements), len(res.HeldBack))
	require.Positive(t, restrictions)
	assert.Equal(t, restrictions, res.Restrictions)
	assert.Empty(t, res.HeldBack, "every restricting decision of the demo passes the validator")
	assert.Len(t, res.Statements, restrictions)
	for _, b := range res.Batches() {
		body, err := json.Marshal(b)
		require.NoError(t, err)
		errs, err := dsa.ValidateBulk(body)
		require.NoError(t, err)
		assert.Empty(t, errs)
	}
}
