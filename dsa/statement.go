package dsa

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/durable"
	"github.com/malmo/participation-ledger/eventstore"
)

// Statement is a statement of reasons as the database's API takes it. Only
// the fields the ledger has are written; a restriction of visibility is all
// it ever decides (no monetary, service or account restrictions).
type Statement struct {
	DecisionVisibility             []string `json:"decision_visibility"`
	DecisionGround                 string   `json:"decision_ground"`
	IllegalContentLegalGround      string   `json:"illegal_content_legal_ground,omitempty"`
	IllegalContentExplanation      string   `json:"illegal_content_explanation,omitempty"`
	IncompatibleContentGround      string   `json:"incompatible_content_ground,omitempty"`
	IncompatibleContentExplanation string   `json:"incompatible_content_explanation,omitempty"`
	ContentType                    []string `json:"content_type"`
	ContentTypeOther               string   `json:"content_type_other,omitempty"`
	Category                       string   `json:"category"`
	TerritorialScope               []string `json:"territorial_scope,omitempty"`
	ContentLanguage                string   `json:"content_language,omitempty"`
	ContentDate                    string   `json:"content_date"`
	ApplicationDate                string   `json:"application_date"`
	DecisionFacts                  string   `json:"decision_facts"`
	SourceType                     string   `json:"source_type"`
	AutomatedDetection             string   `json:"automated_detection"`
	AutomatedDecision              string   `json:"automated_decision"`
	PUID                           string   `json:"puid"`
}

// Bulk is the body of one call to POST /api/v1/statements.
type Bulk struct {
	Statements []Statement `json:"statements"`
}

// Decision is a restricting decision with what the log knows about its
// item besides the event.
type Decision struct {
	Event    *domain.ModerationDecided
	Language string    // the item's language (ISO 639-1), "" if unknown
	Posted   time.Time // occurred-at of the decided content version, zero if unknown
}

// StatementOf writes a decision as a statement of reasons; puid is the
// decision id. Dates are UTC. A version-1 decision (read through the
// upcaster) has no content date: the occurred-at of the decided version is
// used. Nothing is made up: what is missing stays empty, and Validate says
// so.
func StatementOf(d Decision) Statement {
	e := d.Event
	s := Statement{
		DecisionVisibility: []string{e.Visibility.DSA()}, DecisionGround: e.Ground.DSA(), Category: e.Category.DSA(),
		ContentTypeOther: e.ContentTypeOther, TerritorialScope: e.TerritorialScope, ContentDate: e.ContentDate,
		ApplicationDate: e.DecidedAt.UTC().Format(time.DateOnly), DecisionFacts: e.Explanation,
		SourceType: e.Source.DSA(), AutomatedDetection: "No", AutomatedDecision: e.AutomatedDecision.DSA(), PUID: e.DecisionID,
		ContentLanguage: strings.ToUpper(d.Language),
	}
	for _, t := range e.ContentType {
		s.ContentType = append(s.ContentType, t.DSA())
	}
	if s.ContentDate == "" && !d.Posted.IsZero() {
		s.ContentDate = d.Posted.UTC().Format(time.DateOnly)
	}
	if e.AutomatedDetection {
		s.AutomatedDetection = "Yes"
	}
	switch e.Ground {
	case domain.GroundIllegal:
		s.IllegalContentLegalGround, s.IllegalContentExplanation = e.LegalGround, e.GroundExplanation
	case domain.GroundIncompatible:
		s.IncompatibleContentGround, s.IncompatibleContentExplanation = e.PolicyClause, e.GroundExplanation
	}
	return s
}

// Check validates s by the database's rules, through its JSON form as the
// database would receive it.
func Check(s Statement) Errors {
	b, err := json.Marshal(s)
	if err != nil {
		return Errors{"statement": {err.Error()}}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return Errors{"statement": {err.Error()}}
	}
	return Validate(m)
}

// HeldBack is a restricting decision whose statement the database would
// refuse, with why.
type HeldBack struct {
	PUID   string `json:"puid"`
	Errors Errors `json:"errors"`
}

// Result is every restricting decision up to a position, as statements.
type Result struct {
	Position     eventstore.Position `json:"position"`     // the last event read
	Restrictions int                 `json:"restrictions"` // restricting decisions seen
	Statements   []Statement         `json:"-"`            // those the database would accept, in log order
	HeldBack     []HeldBack          `json:"held_back"`    // the others
	// Accepted are the puids the database has accepted, by the
	// DSAStatementsSubmitted events in the log.
	Accepted map[string]bool `json:"-"`
}

// Pending returns the statements the database has not accepted yet.
func (r Result) Pending() []Statement {
	var out []Statement
	for _, s := range r.Statements {
		if !r.Accepted[s.PUID] {
			out = append(out, s)
		}
	}
	return out
}

// Batches splits the statements into bodies of at most MaxBatch.
func (r Result) Batches() []Bulk {
	var out []Bulk
	for i := 0; i < len(r.Statements); i += MaxBatch {
		out = append(out, Bulk{Statements: r.Statements[i:min(i+MaxBatch, len(r.Statements))]})
	}
	return out
}

// collector folds the log into decisions with their items' language and
// content dates.
type collector struct {
	language map[string]string            // item → language
	posted   map[string]map[int]time.Time // item → version → occurred-at
	res      Result
}

func (c *collector) add(ev eventstore.Event) error {
	c.res.Position = ev.Position
	de, err := domain.Decode(ev.Type, ev.Version, ev.Data)
	if err != nil {
		return fmt.Errorf("dsa: event %d: %w", ev.Position, err)
	}
	if item, v, ok := domain.PostsContent(de); ok {
		if c.posted[item] == nil {
			c.posted[item] = map[int]time.Time{}
		}
		c.posted[item][v] = ev.Metadata.OccurredAt
	}
	switch e := de.(type) {
	case *domain.SubmissionReceived:
		c.language[e.SubmissionID] = e.Language
	case *domain.CommentPosted:
		c.language[e.CommentID] = e.Language
	case *domain.StatementPosted:
		c.language[e.StatementID] = e.Language
	case *domain.DSAStatementsSubmitted:
		if e.Outcome == domain.DSAAccepted {
			for _, p := range e.PUIDs {
				c.res.Accepted[p] = true
			}
		}
	case *domain.ModerationDecided:
		if !e.Visibility.Restricts() {
			return nil
		}
		c.res.Restrictions++
		s := StatementOf(Decision{Event: e, Language: c.language[e.ItemID], Posted: c.posted[e.ItemID][e.ContentVersion]})
		if errs := Check(s); len(errs) > 0 {
			c.res.HeldBack = append(c.res.HeldBack, HeldBack{PUID: s.PUID, Errors: errs})
			return nil
		}
		c.res.Statements = append(c.res.Statements, s)
	}
	return nil
}

// Reader is the part of an event store Collect reads.
type Reader interface {
	ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.Event, error)
}

// Collect reads the log from the start up to position to (0: the head) and
// returns every restricting decision as a statement, or held back with the
// database's objections.
func Collect(ctx context.Context, r Reader, to eventstore.Position) (Result, error) {
	c := collector{language: map[string]string{}, posted: map[string]map[int]time.Time{},
		res: Result{Accepted: map[string]bool{}}}
	for after := eventstore.Position(0); ; {
		evs, err := r.ReadAll(ctx, after, 4096)
		if err != nil {
			return c.res, err
		}
		for _, ev := range evs {
			if to > 0 && ev.Position > to {
				return c.res, nil
			}
			if err := c.add(ev); err != nil {
				return c.res, err
			}
		}
		if len(evs) == 0 {
			return c.res, nil
		}
		after = evs[len(evs)-1].Position
	}
}

// WriteDir writes r into dir (created; it must be empty): one bulk body
// per call, statements-001.json, statements-002.json, … (each ready to
// POST to /api/v1/statements), and summary.json with the counts and the
// held-back decisions with the database's objections. It returns the
// names of the files written.
func WriteDir(dir string, r Result) ([]string, error) {
	if err := durable.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) > 0 {
		return nil, fmt.Errorf("dsa: %s must be an empty directory (%v)", dir, err)
	}
	var names []string
	write := func(name string, v any) error {
		b, err := json.MarshalIndent(v, "", " ")
		if err != nil {
			return err
		}
		names = append(names, name)
		return durable.CreateExclusive(filepath.Join(dir, name), append(b, '\n'), 0o640)
	}
	for i, b := range r.Batches() {
		if err := write(fmt.Sprintf("statements-%03d.json", i+1), b); err != nil {
			return names, err
		}
	}
	sum := struct {
		Result
		Statements int `json:"statements"`
		Batches    int `json:"batches"`
	}{r, len(r.Statements), len(r.Batches())}
	if sum.HeldBack == nil {
		sum.HeldBack = []HeldBack{}
	}
	return names, write("summary.json", sum)
}
