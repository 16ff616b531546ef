package web

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/projections"
)

// The dialogue page: a dialogue's opinion groups as Polis draws them (an
// opinion map, a card per group with the statements that set it apart,
// the statements every group shares), from the dialogue model's latest
// votes at the page's view. The map is SVG drawn here; the table after it
// states the same numbers, and each group has its own marker shape as
// well as its colour.

type dialogueData struct {
	ID             string
	T              text
	Voters         int
	InConversation int
	Groups         []groupCard
	Consensus      []statementLine
	Statements     []statementRow
	Map            template.HTML
}

type groupCard struct {
	Label          string // A, B, …
	Members        int
	Share          string
	X, Y           string
	Shape          string
	Representative []statementLine
}

type statementLine struct {
	Text     opened
	Summary  string
	PerGroup []string
}

type statementRow struct {
	Text  opened
	Cells []string
}

// groupLabel names group g as Polis does: A, B, C …
func groupLabel(g int) string { return string(rune('A' + g)) }

func (h *Handler) dialogue(w http.ResponseWriter, r *http.Request) {
	p := h.newPage(w, r, "")
	c := h.cats[p.Lang]
	v, err := h.resolve(r)
	if err != nil {
		h.badAsOf(w, r, err)
		return
	}
	id := chi.URLParam(r, "id")
	var (
		o      projections.Overview
		found  bool
		input  projections.GroupsInput
		counts projections.DialogueSummary
	)
	err = h.read(r.Context(), v, func(m *projections.View) {
		v.Pos = m.Position()
		if o, found = projections.Get[*projections.Processes](m).Process(id); found {
			d := projections.Get[*projections.Dialogue](m)
			input, found = d.GroupsInput(id)
			counts, _ = d.Counts(id, true)
		}
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if !found {
		h.notFound(w, r)
		return
	}
	groups := input.Compute() // outside the runner's read lock
	bodies := map[string]*domain.Personal{}
	for _, s := range counts.Statements {
		bodies[s.StatementID] = s.Body
	}
	textOf := func(id string) opened {
		o := h.open(bodies[id])
		o.S = strings.TrimSpace(o.S)
		return o
	}
	pct := func(n, of int) string {
		if of == 0 {
			return "–"
		}
		return c.percent(float64(n) / float64(of))
	}

	d := dialogueData{ID: id, T: pick(o.Title, p.Lang), Voters: groups.Voters, InConversation: groups.InConversation}
	for g, grp := range groups.Groups {
		card := groupCard{Label: groupLabel(g), Members: grp.Members, Share: pct(grp.Members, groups.InConversation),
			X: strconv.FormatFloat(grp.X, 'f', 2, 64), Y: strconv.FormatFloat(grp.Y, 'f', 2, 64), Shape: c.t("shape." + strconv.Itoa(g))}
		for _, rep := range grp.Representative {
			key := "dialogue.agreed"
			if rep.Direction == "disagree" {
				key = "dialogue.disagreed"
			}
			card.Representative = append(card.Representative, statementLine{Text: textOf(rep.StatementID),
				Summary: c.t(key, pct(rep.Count, rep.Of), rep.Count, rep.Of)})
		}
		d.Groups = append(d.Groups, card)
	}
	tallies := map[string]projections.GroupedStatement{}
	for _, s := range groups.Statements {
		tallies[s.StatementID] = s
		row := statementRow{Text: textOf(s.StatementID)}
		for _, t := range s.Groups {
			n := t.Agree + t.Disagree + t.Pass
			row.Cells = append(row.Cells, c.t("dialogue.cell", pct(t.Agree, n), pct(t.Disagree, n), pct(t.Pass, n), n))
		}
		d.Statements = append(d.Statements, row)
	}
	for _, cs := range groups.Consensus {
		line := statementLine{Text: textOf(cs.StatementID), Summary: c.t("dialogue.cons" + cs.Direction)}
		for g, t := range tallies[cs.StatementID].Groups {
			n := t.Agree + t.Disagree + t.Pass
			line.PerGroup = append(line.PerGroup, c.t("dialogue.pergroup", groupLabel(g), pct(t.Agree, n), pct(t.Disagree, n), n))
		}
		d.Consensus = append(d.Consensus, line)
	}
	if len(groups.Groups) > 0 {
		d.Map = opinionMap(groups, c.t("dialogue.map"), c.t("dialogue.mapdesc"))
	}
	p.Title = c.t("dialogue.title") + " – " + d.T.S
	p.At, p.Data = v, d
	h.render(w, r, http.StatusOK, "dialogue", p)
}

const (
	mapSize = 360 // the map is square: both components in one scale
	mapPad  = 18
)

// opinionMap draws the grouped participants as points, each group in its
// own shape and colour, with the group's letter at its centre.
func opinionMap(g projections.OpinionGroups, title, desc string) template.HTML {
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	for _, pt := range g.Points {
		minX, maxX = math.Min(minX, pt.X), math.Max(maxX, pt.X)
		minY, maxY = math.Min(minY, pt.Y), math.Max(maxY, pt.Y)
	}
	span := math.Max(math.Max(maxX-minX, maxY-minY), 1e-9)
	inner := float64(mapSize - 2*mapPad)
	// Centred in both directions, one scale for both axes (distances on
	// the map mean the same across and up).
	ox := mapPad + (inner-(maxX-minX)/span*inner)/2
	oy := mapPad + (inner-(maxY-minY)/span*inner)/2
	at := func(x, y float64) (float64, float64) {
		return ox + (x-minX)/span*inner, oy + (maxY-y)/span*inner // up is up
	}
	esc := template.HTMLEscapeString
	var s strings.Builder
	fmt.Fprintf(&s, `<svg class="opinion-map" viewBox="0 0 %d %d" width="100%%" role="img" aria-labelledby="map-t map-d" xmlns="http://www.w3.org/2000/svg">`, mapSize, mapSize)
	fmt.Fprintf(&s, `<title id="map-t">%s</title><desc id="map-d">%s</desc>`, esc(title), esc(desc))
	fmt.Fprintf(&s, `<rect x="0.5" y="0.5" width="%d" height="%d" class="map-frame"></rect>`, mapSize-1, mapSize-1)
	for _, pt := range g.Points {
		x, y := at(pt.X, pt.Y)
		s.WriteString(marker(pt.Group, x, y, 3.2, "og og-"+strconv.Itoa(pt.Group%5)))
	}
	for i, grp := range g.Groups {
		x, y := at(grp.X, grp.Y)
		fmt.Fprintf(&s, `<circle cx="%.1f" cy="%.1f" r="13" class="og-centre"></circle>`, x, y)
		fmt.Fprintf(&s, `<text x="%.1f" y="%.1f" class="og-label">%s</text>`, x, y+5.5, groupLabel(i))
	}
	s.WriteString(`</svg>`)
	// Every piece of text in it went through HTMLEscapeString above.
	return template.HTML(s.String())
}

// marker draws group g's shape: circle, square, triangle, diamond, cross.
func marker(g int, x, y, r float64, class string) string {
	switch g % 5 {
	case 1:
		return fmt.Sprintf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" class="%s"></rect>`, x-r, y-r, 2*r, 2*r, class)
	case 2:
		return fmt.Sprintf(`<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" class="%s"></polygon>`, x, y-1.2*r, x+1.1*r, y+0.8*r, x-1.1*r, y+0.8*r, class)
	case 3:
		return fmt.Sprintf(`<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f" class="%s"></polygon>`, x, y-1.3*r, x+1.3*r, y, x, y+1.3*r, x-1.3*r, y, class)
	case 4:
		return fmt.Sprintf(`<path d="M%.1f %.1fh%.1fM%.1f %.1fv%.1f" class="%s og-cross"></path>`, x-r, y, 2*r, x, y-r, 2*r, class)
	}
	return fmt.Sprintf(`<circle cx="%.1f" cy="%.1f" r="%.1f" class="%s"></circle>`, x, y, r, class)
}
