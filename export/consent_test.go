package export_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/export"
)

// allFiles returns every file of an export, by slash-separated name.
func allFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return out
}

// TestResearchExportFollowsConsent: a participant who withdraws research
// consent is absent from the next research export — rows, text, events —
// and the manifest counts what was left out and why; an export that ends
// before the withdrawal still has them (consent as of the last position).
// A participant whose erasure was granted is left out for that reason.
func TestResearchExportFollowsConsent(t *testing.T) {
	f := newFixture(t)
	before, _ := research(t, f, "eva.strand", nil)
	head, err := f.store.Head(f.ctx)
	require.NoError(t, err)

	f.must(f.svc.ChangeConsent(f.ctx, p(f.b), f.b, rq("withdraw", domain.ChangeConsent{ResearchUse: false})))
	req := f.must(f.svc.RequestErasure(f.ctx, p(f.c), f.c, rq("erase", domain.RequestErasure{Channel: domain.ChannelWeb})))
	f.must(f.svc.DecideErasure(f.ctx, admin, f.c, rq("erase-ok", domain.DecideErasure{RequestID: req.ID,
		Outcome: domain.ErasureGranted, Basis: "GDPR art. 17(1)(b)"})))
	require.NoError(t, f.log.CatchUp(f.ctx, f.store))

	after, res := research(t, f, "eva.strand", nil)
	ps := export.NewPseudonymizer(f.secret, "eva.strand")
	files := allFiles(t, after)
	for name, text := range files {
		for _, who := range []string{f.b, f.c} {
			assert.False(t, strings.Contains(text, ps.Of(who)), "%s has a row or event of a left-out participant", name)
		}
		for _, s := range []string{"Bra idé!", "Fler bänkar i parken", f.third} { // b's comment and submission
			assert.False(t, strings.Contains(text, s), "%s has a left-out participant's text or submission %q", name, s)
		}
	}
	// The municipality's decisions about b's content stay (they name no
	// participant); b's submissions, comment, support and appeal do not.
	assert.Contains(t, files["moderation_decisions.csv"], "Personangrepp")
	assert.NotContains(t, files["submissions.csv"], f.third)

	lo := res.Manifest.LeftOut
	assert.Equal(t, int64(2), lo["submissions"][export.NoResearchConsent], "b's two submissions")
	assert.Equal(t, int64(1), lo["comments"][export.NoResearchConsent])
	assert.Equal(t, int64(1), lo["supports"][export.NoResearchConsent])
	assert.Equal(t, int64(1), lo["appeals"][export.NoResearchConsent])
	assert.Equal(t, int64(1), lo["submissions"][export.ErasureGranted], "c's submission")
	assert.Equal(t, int64(2), lo["supports"][export.ErasureGranted], "c's support given and withdrawn")
	assert.Positive(t, lo[export.EventsFile][export.NoResearchConsent])
	assert.Positive(t, lo[export.EventsFile][export.ErasureGranted])
	assert.Contains(t, lo, "responses", "every table has an entry, zero or not")
	assert.Contains(t, files[export.ManifestName], `"left_out"`)
	assert.Contains(t, files[export.DataPackageFile], "no_research_consent")

	// Consent as of the export's last position: ending before the
	// withdrawal, b is still in.
	early, res := research(t, f, "eva.strand", func(o *export.Options) { o.To.Pos = head })
	assert.Contains(t, allFiles(t, early)["comments.csv"], "Bra idé!")
	assert.Zero(t, res.Manifest.LeftOut["comments"][export.NoResearchConsent])
	assert.Contains(t, allFiles(t, before)["submissions.csv"], f.third)
	assert.True(t, strings.Contains(allFiles(t, before)["supports.csv"], ps.Of(f.b)))
}
