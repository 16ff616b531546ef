package web

import (
	"io/fs"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/projections"
)

func TestNegotiate(t *testing.T) {
	for header, want := range map[string]string{
		"":                                "sv",
		"en":                              "en",
		"en-GB,en;q=0.9":                  "en",
		"sv-SE,sv;q=0.9,en;q=0.8":         "sv",
		"de-DE,de;q=0.9,en;q=0.5":         "en",
		"de,fr":                           "sv",
		"en;q=0.2, nb;q=0.8":              "sv",
		"en;q=0, sv;q=0.1":                "sv",
		"fr;q=0.9, en-US;q=0.8, *":        "sv",
		"fr;q=0.9, en-US;q=0.95, *;q=0.1": "en",
	} {
		assert.Equal(t, want, negotiate(header), "Accept-Language %q", header)
	}
}

// TestCatalogues checks that both languages have the same keys and that
// every key the templates and code use exists.
func TestCatalogues(t *testing.T) {
	cats, err := loadCatalogues()
	require.NoError(t, err)
	for k := range cats["sv"] {
		assert.Contains(t, cats["en"], k, "en lacks %s", k)
		assert.NotEmpty(t, cats["sv"][k], k)
	}
	for k := range cats["en"] {
		assert.Contains(t, cats["sv"], k, "sv lacks %s", k)
	}
	used := regexp.MustCompile(`[({]t "([a-z0-9.-]*[a-z0-9])"|\.t\("([a-z0-9.-]*[a-z0-9])"`)
	check := func(name string, b []byte) {
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			key := m[1] + m[2]
			assert.Contains(t, cats["sv"], key, "%s uses %s", name, key)
		}
	}
	require.NoError(t, fs.WalkDir(templateFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(p)
		require.NoError(t, err)
		check(p, b)
		return nil
	}))
	for _, f := range []string{"web.go", "pages.go", "dashboard.go", "charts.go"} {
		b, err := fs.ReadFile(os.DirFS("."), f)
		require.NoError(t, err)
		check(f, b)
	}
	// Every vocabulary value the log can hold has a text.
	for _, v := range visibilities {
		assert.Contains(t, cats["sv"], "visibility."+string(v))
	}
}

func TestChartSVG(t *testing.T) {
	cats, err := loadCatalogues()
	require.NoError(t, err)
	c := countChart(cats["en"], "by-x", "Restrictions <by> ground", "ground", map[string]int{
		"incompatible_content": 3, "illegal_content": 1, "<script>": 2})
	s := string(c.SVG)
	assert.Contains(t, s, `role="img" aria-labelledby="by-x-t"`)
	assert.Contains(t, s, `<title id="by-x-t">Restrictions &lt;by&gt; ground</title>`)
	assert.NotContains(t, s, "<script>")
	assert.Contains(t, s, "&lt;script&gt;")
	// Largest first, with its value written next to the bar.
	require.Len(t, c.Bars, 3)
	assert.Equal(t, "Incompatible with the terms", c.Bars[0].Label)
	assert.Equal(t, "3", c.Bars[0].Text)
	assert.Less(t, strings.Index(s, "Incompatible"), strings.Index(s, "Illegal"))
	assert.Contains(t, s, `width="460.0"`, "the largest bar spans the width")
}

func TestFormats(t *testing.T) {
	cats, err := loadCatalogues()
	require.NoError(t, err)
	assert.Equal(t, "12.5 %", cats["sv"].percent(0.125))
	assert.Equal(t, "12.5%", cats["en"].percent(0.125))
	assert.Equal(t, "50 min", cats["en"].duration(3000))
	assert.Equal(t, "2.5 h", cats["en"].duration(9000))
	assert.Equal(t, "3 dygn", cats["sv"].duration(3*86400))
}

func TestOpenFlags(t *testing.T) {
	es := []projections.TrailEntry{
		{Type: "ContentFlagged", TrailDetail: projections.TrailDetail{FlagID: "f1", ContentVersion: 1, Source: "participant"}},
		{Type: "ContentFlagged", TrailDetail: projections.TrailDetail{FlagID: "f2", ContentVersion: 2, Source: "automated"}},
		{Type: "ModerationDecided", TrailDetail: projections.TrailDetail{ContentVersion: 1}},
		{Type: "ContentFlagged", TrailDetail: projections.TrailDetail{FlagID: "f3", ContentVersion: 2, Source: "participant"}},
	}
	open := openFlags(es)
	require.Len(t, open, 2)
	assert.Equal(t, "f2", open[0].ID)
	assert.Equal(t, "f3", open[1].ID)
	src, auto := sourceOf(open)
	assert.Equal(t, "source_type_other_notification", string(src))
	assert.True(t, auto)
	src, auto = sourceOf(open[1:])
	assert.Equal(t, "source_article_16", string(src))
	assert.False(t, auto)
	src, _ = sourceOf(nil)
	assert.Equal(t, "source_voluntary", string(src))
}
