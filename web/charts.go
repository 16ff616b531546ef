package web

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/malmo/participation-ledger/projections"
)

// Charts are SVG drawn here, on the server: they need no JavaScript and no
// library (nothing to vendor or audit), print and zoom sharply, and carry
// their numbers as text. Each chart is also given as a table right after
// it, which is what screen readers and people who cannot tell bar lengths
// apart read; colour carries no information (one colour, labelled bars).

// chart is one bar chart and the table that states the same numbers.
type chart struct {
	ID      string
	Title   string
	Caption string // the header of the value column
	Bars    []bar
	SVG     template.HTML
}

type bar struct {
	Label string
	Value float64
	Text  string // the value as shown
}

const (
	chartWidth = 640
	barMaxW    = 460
	rowH       = 44
)

// svg renders c's bars horizontally: the label above each bar and the value
// at its end, so nothing depends on reading an axis.
func (c *chart) svg() template.HTML {
	maxV := 0.0
	for _, b := range c.Bars {
		maxV = math.Max(maxV, b.Value)
	}
	h := max(len(c.Bars), 1)*rowH + 8
	var s strings.Builder
	esc := template.HTMLEscapeString
	fmt.Fprintf(&s, `<svg class="chart" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="%s-t" xmlns="http://www.w3.org/2000/svg">`,
		chartWidth, h, esc(c.ID))
	fmt.Fprintf(&s, `<title id="%s-t">%s</title>`, esc(c.ID), esc(c.Title))
	for i, b := range c.Bars {
		y := i*rowH + 4
		w := 0.0
		if maxV > 0 {
			w = b.Value / maxV * barMaxW
		}
		if b.Value > 0 {
			w = math.Max(w, 2) // a non-zero value stays visible
		}
		fmt.Fprintf(&s, `<text x="0" y="%d" class="chart-label">%s</text>`, y+14, esc(b.Label))
		fmt.Fprintf(&s, `<rect x="0" y="%d" width="%.1f" height="18" class="chart-bar"></rect>`, y+20, w)
		fmt.Fprintf(&s, `<text x="%.1f" y="%d" class="chart-value">%s</text>`, w+6, y+34, esc(b.Text))
	}
	if len(c.Bars) == 0 {
		s.WriteString(`<text x="0" y="20" class="chart-label">–</text>`)
	}
	s.WriteString(`</svg>`)
	// Every piece of text in it went through HTMLEscapeString above.
	return template.HTML(s.String())
}

// countChart builds a chart from counts keyed by a vocabulary value,
// largest first, labels translated under prefix.
func countChart(c catalogue, id, title, prefix string, m map[string]int) chart {
	ch := chart{ID: id, Title: title, Caption: c.t("chart.count")}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	for _, k := range keys {
		ch.Bars = append(ch.Bars, bar{Label: c.enum(prefix, k), Value: float64(m[k]), Text: strconv.Itoa(m[k])})
	}
	ch.SVG = ch.svg()
	return ch
}

func (h *Handler) reportCharts(c catalogue, r projections.Report) []chart {
	charts := []chart{
		countChart(c, "by-ground", c.t("chart.ground"), "ground", r.ByGround),
		countChart(c, "by-category", c.t("chart.category"), "category", r.ByCategory),
		countChart(c, "by-visibility", c.t("chart.visibility"), "visibility", r.ByVisibility),
	}
	auto := chart{ID: "automated", Title: c.t("chart.automated"), Caption: c.t("chart.count"), Bars: []bar{
		{Label: c.t("chart.automated.yes"), Value: float64(r.Automated), Text: strconv.Itoa(r.Automated)},
		{Label: c.t("chart.automated.no"), Value: float64(r.Decisions - r.Automated), Text: strconv.Itoa(r.Decisions - r.Automated)},
	}}
	auto.SVG = auto.svg()
	ttd := chart{ID: "time-to-decision", Title: c.t("chart.ttd"), Caption: c.t("chart.hours"), Bars: []bar{
		{Label: c.t("chart.median"), Value: r.TimeToDecision.MedianSeconds, Text: c.duration(r.TimeToDecision.MedianSeconds)},
		{Label: c.t("chart.p90"), Value: r.TimeToDecision.P90Seconds, Text: c.duration(r.TimeToDecision.P90Seconds)},
	}}
	ttd.SVG = ttd.svg()
	appeals := chart{ID: "appeals", Title: c.t("chart.appeals"), Caption: c.t("chart.count"), Bars: []bar{
		{Label: c.t("appeal.upheld"), Value: float64(r.AppealsUpheld), Text: strconv.Itoa(r.AppealsUpheld)},
		{Label: c.t("appeal.overturned"), Value: float64(r.AppealsOverturned), Text: strconv.Itoa(r.AppealsOverturned)},
		{Label: c.t("appeal.pending"), Value: float64(r.AppealsPending), Text: strconv.Itoa(r.AppealsPending)},
	}}
	appeals.SVG = appeals.svg()
	return append(charts, auto, ttd, appeals)
}

// percent formats a share 0..1 in the catalogue's style ("12 %" in
// Swedish, "12%" in English).
func (c catalogue) percent(share float64) string {
	return c.t("fmt.percent", strconv.FormatFloat(math.Round(share*1000)/10, 'f', -1, 64))
}

// duration formats seconds as days, hours or minutes, whichever reads best.
func (c catalogue) duration(sec float64) string {
	switch {
	case sec <= 0:
		return c.t("fmt.minutes", "0")
	case sec >= 2*86400:
		return c.t("fmt.days", strconv.FormatFloat(math.Round(sec/8640)/10, 'f', -1, 64))
	case sec >= 3600:
		return c.t("fmt.hours", strconv.FormatFloat(math.Round(sec/360)/10, 'f', -1, 64))
	}
	return c.t("fmt.minutes", strconv.FormatFloat(math.Round(sec/60), 'f', -1, 64))
}
