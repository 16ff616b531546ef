package projections

import (
	"slices"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Item statuses, as public and internal views show them.
const (
	StatusPending    = "pending"    // pre-moderated, awaiting a decision; not public
	StatusPublished  = "published"  // public
	StatusRestricted = "restricted" // public, demoted, labelled or with interaction restricted
	StatusHidden     = "hidden"     // content disabled: public views show the reason, not the content
	StatusRejected   = "rejected"   // pre-moderated and never approved; not public
)

// item is the moderation state of a submission or comment, shared by the
// models that show or count items. Nothing is deleted: a hidden item keeps
// its content (sealed) for internal views and appeals.
type item struct {
	ID       string          `json:"id"`
	Kind     domain.ItemKind `json:"kind"`
	Process  string          `json:"process"`
	Versions []version       `json:"versions"`
	// PublicVersion is the newest version the public may see (0: none,
	// pre-moderation has approved nothing yet).
	PublicVersion int          `json:"public_version"`
	Restriction   *restriction `json:"restriction,omitempty"`
	Decisions     []decision   `json:"decisions"`
	OpenFlags     []flag       `json:"open_flags"`
	OpenAppeals   []appeal     `json:"open_appeals"`
	Disposal      *disposal    `json:"disposal,omitempty"`
}

type version struct {
	Version      int                 `json:"version"`
	Title        *domain.Personal    `json:"title,omitempty"` // nil in models that count, not show
	Body         *domain.Personal    `json:"body,omitempty"`
	Premoderated bool                `json:"premoderated"`
	Decided      bool                `json:"decided"` // a moderator has decided on this version
	At           time.Time           `json:"at"`      // recorded
	Position     eventstore.Position `json:"position"`
}

// restriction is the statement of reasons of the decision in force.
type restriction struct {
	DecisionID     string            `json:"decision_id"`
	Visibility     domain.Visibility `json:"visibility"`
	Ground         domain.Ground     `json:"ground"`
	LegalGround    string            `json:"legal_ground,omitempty"`
	PolicyClause   string            `json:"policy_clause,omitempty"`
	Category       domain.Category   `json:"category"`
	Explanation    string            `json:"explanation"`
	ContentVersion int               `json:"content_version"`
	DecidedAt      time.Time         `json:"decided_at"`
}

type decision struct {
	ID             string            `json:"id"`
	Visibility     domain.Visibility `json:"visibility"`
	ContentVersion int               `json:"content_version"`
	Overturned     bool              `json:"overturned"`
}

type flag struct {
	ID             string              `json:"id"`
	Source         domain.FlagSource   `json:"source"`
	Category       domain.Category     `json:"category"`
	ContentVersion int                 `json:"content_version"`
	At             time.Time           `json:"at"`
	Position       eventstore.Position `json:"position"`
}

type appeal struct {
	ID         string              `json:"id"`
	DecisionID string              `json:"decision_id"`
	At         time.Time           `json:"at"`
	Position   eventstore.Position `json:"position"`
}

type disposal struct {
	CaseNumber string    `json:"case_number"`
	LegalBasis string    `json:"legal_basis"`
	At         time.Time `json:"at"`
}

func (it *item) current() *version {
	if len(it.Versions) == 0 {
		return nil
	}
	return &it.Versions[len(it.Versions)-1]
}

func (it *item) version(v int) *version {
	for i := range it.Versions {
		if it.Versions[i].Version == v {
			return &it.Versions[i]
		}
	}
	return nil
}

// Status is the item's moderation status.
func (it *item) Status() string {
	switch {
	case it.Restriction != nil && it.Restriction.Visibility == domain.VisibilityDisabled:
		return StatusHidden
	case it.PublicVersion == 0:
		if c := it.current(); c != nil && c.Premoderated && !c.Decided {
			return StatusPending
		}
		return StatusRejected
	case it.Restriction != nil:
		return StatusRestricted
	}
	return StatusPublished
}

// Public reports whether public views show the item at all: once a
// version has been public the item stays listed (hidden, with the reason,
// if content was disabled later); pre-moderated content that was never
// approved never appears.
func (it *item) Public() bool { return it.PublicVersion > 0 }

// pending reports whether the current version waits for pre-moderation.
func (it *item) pending() (*version, bool) {
	c := it.current()
	return c, c != nil && c.Premoderated && !c.Decided
}

func (it *item) addVersion(ev eventstore.Event, v int, title, body *domain.Personal, premoderated bool) {
	it.Versions = append(it.Versions, version{Version: v, Title: title, Body: body,
		Premoderated: premoderated, At: ev.Metadata.OccurredAt, Position: ev.Position})
	if !premoderated {
		it.PublicVersion = max(it.PublicVersion, v)
	}
}

// apply folds the moderation events of the item.
func (it *item) apply(ev eventstore.Event, de domain.Event) {
	switch e := de.(type) {
	case *domain.SubmissionRevised:
		it.addVersion(ev, e.Version, &e.Title, &e.Body, e.Premoderated)
	case *domain.ContentFlagged:
		it.OpenFlags = append(it.OpenFlags, flag{ID: e.FlagID, Source: e.Source, Category: e.Category,
			ContentVersion: e.ContentVersion, At: ev.Metadata.OccurredAt, Position: ev.Position})
	case *domain.ModerationDecided:
		it.decide(ev, e)
	case *domain.AppealFiled:
		it.OpenAppeals = append(it.OpenAppeals, appeal{ID: e.AppealID, DecisionID: e.DecisionID,
			At: ev.Metadata.OccurredAt, Position: ev.Position})
	case *domain.AppealDecided:
		it.OpenAppeals = slices.DeleteFunc(it.OpenAppeals, func(a appeal) bool { return a.ID == e.AppealID })
		if e.Outcome == domain.AppealOverturned {
			it.overturn(e.DecisionID)
		}
	case *domain.DisposalDecided:
		it.Disposal = &disposal{CaseNumber: e.CaseNumber, LegalBasis: e.LegalBasis, At: ev.Metadata.OccurredAt}
	}
}

func (it *item) decide(ev eventstore.Event, e *domain.ModerationDecided) {
	it.Decisions = append(it.Decisions, decision{ID: e.DecisionID, Visibility: e.Visibility, ContentVersion: e.ContentVersion})
	if v := it.version(e.ContentVersion); v != nil {
		v.Decided = true
	}
	// A decision answers every notice about that content version or an
	// older one, and the notices it names.
	it.OpenFlags = slices.DeleteFunc(it.OpenFlags, func(f flag) bool {
		return f.ContentVersion <= e.ContentVersion || slices.Contains(e.FlagIDs, f.ID)
	})
	switch {
	case e.Visibility.Restricts():
		it.Restriction = &restriction{DecisionID: e.DecisionID, Visibility: e.Visibility, Ground: e.Ground,
			LegalGround: e.LegalGround, PolicyClause: e.PolicyClause, Category: e.Category,
			Explanation: e.Explanation, ContentVersion: e.ContentVersion, DecidedAt: ev.Metadata.OccurredAt}
	case e.Visibility == domain.VisibilityRestored:
		it.Restriction = nil
		it.publish(e.ContentVersion)
	default: // approved, no action
		it.publish(e.ContentVersion)
	}
}

func (it *item) publish(v int) {
	if it.version(v) != nil {
		it.PublicVersion = max(it.PublicVersion, v)
	}
}

// overturn reverses a restricting decision (the content is shown again, as
// if approved). Overturning an approval has no effect of its own here: the
// moderator records the restriction it calls for as a new decision.
func (it *item) overturn(decisionID string) {
	for i := range it.Decisions {
		d := &it.Decisions[i]
		if d.ID != decisionID {
			continue
		}
		d.Overturned = true
		if it.Restriction != nil && it.Restriction.DecisionID == decisionID {
			it.Restriction = nil
			it.publish(d.ContentVersion)
		}
	}
}

// Reason is the public statement of reasons of a restriction.
type Reason struct {
	DecisionID     string            `json:"decision_id"`
	Visibility     domain.Visibility `json:"visibility"`
	Ground         domain.Ground     `json:"ground"`
	LegalGround    string            `json:"legal_ground,omitempty"`
	PolicyClause   string            `json:"policy_clause,omitempty"`
	Category       domain.Category   `json:"category"`
	Explanation    string            `json:"explanation"`
	ContentVersion int               `json:"content_version"`
	DecidedAt      time.Time         `json:"decided_at"`
}

func (r *restriction) reason() *Reason {
	if r == nil {
		return nil
	}
	x := Reason(*r)
	return &x
}
