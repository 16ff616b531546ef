package projections

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// Trails is the decision trail of every item: each event about a
// submission or comment, in order, with who (in which role), when, and the
// statement of reasons. Supports are left out: they are not decisions and
// would list who supported what.
//
// The state keeps actor ids; Public renders staff as role plus a stable
// pseudonym (a keyed hash, so the same moderator has the same pseudonym
// everywhere, and nobody without the key can tell who it is), and
// Internal, for auditors and admins, names them.
type Trails struct {
	key []byte
	st  map[string][]trailEntry
}

type trailEntry struct {
	Position   eventstore.Position `json:"position"`
	Revision   uint64              `json:"revision"`
	RecordedAt time.Time           `json:"recorded_at"`
	OccurredAt time.Time           `json:"occurred_at"`
	Type       string              `json:"type"`
	Actor      string              `json:"actor"`
	Role       string              `json:"role"`
	Detail     TrailDetail         `json:"detail"`
}

// TrailDetail is what an entry records besides who and when; fields not
// relevant to the event type are empty.
type TrailDetail struct {
	ContentVersion     int                      `json:"content_version,omitempty"`
	DecisionID         string                   `json:"decision_id,omitempty"`
	Visibility         domain.Visibility        `json:"visibility,omitempty"`
	Ground             domain.Ground            `json:"ground,omitempty"`
	LegalGround        string                   `json:"legal_ground,omitempty"`
	PolicyClause       string                   `json:"policy_clause,omitempty"`
	Category           domain.Category          `json:"category,omitempty"`
	Explanation        string                   `json:"explanation,omitempty"`
	GroundExplanation  string                   `json:"ground_explanation,omitempty"`
	AutomatedDetection bool                     `json:"automated_detection,omitempty"`
	AutomatedDecision  domain.AutomatedDecision `json:"automated_decision,omitempty"`
	Source             string                   `json:"source,omitempty"` // decision source, or who flagged
	Classifier         *domain.Classifier       `json:"classifier,omitempty"`
	FlagID             string                   `json:"flag_id,omitempty"`
	FlagIDs            []string                 `json:"flag_ids,omitempty"`
	AppealID           string                   `json:"appeal_id,omitempty"`
	AppealOutcome      string                   `json:"appeal_outcome,omitempty"`
	Method             string                   `json:"method,omitempty"` // how the author was notified
	ForwardedTo        string                   `json:"forwarded_to,omitempty"`
	CaseNumber         string                   `json:"case_number,omitempty"`
	DecisionReference  string                   `json:"decision_reference,omitempty"`
	ResponsibleBody    string                   `json:"responsible_body,omitempty"`
	Outcome            string                   `json:"outcome,omitempty"`
	Channel            domain.Channel           `json:"channel,omitempty"`
	Premoderated       bool                     `json:"premoderated,omitempty"`
	LegalBasis         string                   `json:"legal_basis,omitempty"`
}

// NewTrails returns an empty trail model; key keys the public pseudonyms
// of staff and must stay secret and stable.
func NewTrails(key []byte) *Trails { t := &Trails{key: key}; t.Reset(); return t }

// Name implements Model.
func (*Trails) Name() string { return NameTrails }

// Reset implements Model.
func (t *Trails) Reset() { t.st = map[string][]trailEntry{} }

// MarshalJSON implements Model.
func (t *Trails) MarshalJSON() ([]byte, error) { return json.Marshal(t.st) }

// UnmarshalJSON implements Model.
func (t *Trails) UnmarshalJSON(b []byte) error {
	t.Reset()
	return json.Unmarshal(b, &t.st)
}

// Apply implements Model.
func (t *Trails) Apply(ev eventstore.Event, de domain.Event) {
	id, _ := itemOf(de)
	if id == "" {
		if e, ok := de.(*domain.KeysShredded); ok && (e.Scope == string(domain.ScopeSubmission) || e.Scope == string(domain.ScopeComment)) {
			id = e.SubjectID
		} else {
			return
		}
	}
	en := trailEntry{Position: ev.Position, Revision: ev.Revision, RecordedAt: ev.RecordedAt,
		OccurredAt: ev.Metadata.OccurredAt, Type: ev.Type, Actor: ev.Metadata.Actor, Role: ev.Metadata.Role}
	d := &en.Detail
	switch e := de.(type) {
	case *domain.SupportGiven, *domain.SupportWithdrawn:
		return
	case *domain.SubmissionReceived:
		d.ContentVersion, d.Channel, d.Premoderated = 1, e.Channel, e.Premoderated
	case *domain.SubmissionRevised:
		d.ContentVersion, d.Premoderated = e.Version, e.Premoderated
	case *domain.CommentPosted:
		d.ContentVersion, d.Channel, d.Premoderated = 1, e.Channel, e.Premoderated
	case *domain.ContentFlagged:
		d.FlagID, d.ContentVersion, d.Source, d.Category, d.Classifier = e.FlagID, e.ContentVersion, string(e.Source), e.Category, e.Classifier
	case *domain.ModerationDecided:
		en.Actor = e.Moderator
		*d = TrailDetail{ContentVersion: e.ContentVersion, DecisionID: e.DecisionID, Visibility: e.Visibility,
			Ground: e.Ground, LegalGround: e.LegalGround, PolicyClause: e.PolicyClause, Category: e.Category,
			Explanation: e.Explanation, GroundExplanation: e.GroundExplanation, AutomatedDetection: e.AutomatedDetection,
			AutomatedDecision: e.AutomatedDecision, Source: string(e.Source), FlagIDs: e.FlagIDs}
	case *domain.AuthorNotified:
		d.DecisionID, d.AppealID, d.Method = e.DecisionID, e.AppealID, e.Method
	case *domain.AppealFiled:
		d.AppealID, d.DecisionID = e.AppealID, e.DecisionID
	case *domain.AppealDecided:
		en.Actor = e.Moderator
		d.AppealID, d.DecisionID, d.AppealOutcome, d.Explanation = e.AppealID, e.DecisionID, e.Outcome, e.Explanation
	case *domain.SupportThresholdReached:
		d.Outcome = "threshold_reached"
	case *domain.SubmissionForwarded:
		d.ForwardedTo, d.CaseNumber = e.To, e.CaseNumber
	case *domain.OfficialResponsePublished:
		d.DecisionReference, d.ResponsibleBody, d.Outcome = e.DecisionReference, e.ResponsibleBody, e.Outcome
	case *domain.DisposalDecided:
		d.CaseNumber, d.LegalBasis = e.CaseNumber, e.LegalBasis
	case *domain.KeysShredded:
		d.DecisionID = e.DecisionID
	}
	t.st[id] = append(t.st[id], en)
}

// TrailEntry is one entry of a rendered trail. Actor is the named actor in
// internal trails, a pseudonym in public ones, and empty for participants
// in public ones.
type TrailEntry struct {
	Position   eventstore.Position `json:"position"`
	Revision   uint64              `json:"revision"`
	RecordedAt time.Time           `json:"recorded_at"`
	OccurredAt time.Time           `json:"occurred_at"`
	Type       string              `json:"type"`
	Role       string              `json:"role"`
	Actor      string              `json:"actor,omitempty"`
	TrailDetail
}

// Public returns an item's trail up to position upTo (Latest: all) for the
// public: staff appear as role and pseudonym, participants by role only.
// Entries carry their positions, so the trail as of a position is the
// current trail cut there: no fold, no snapshot.
func (t *Trails) Public(itemID string, upTo eventstore.Position) ([]TrailEntry, bool) {
	return t.render(itemID, upTo, true)
}

// Internal returns an item's trail up to upTo with named actors, for
// auditors and admins.
func (t *Trails) Internal(itemID string, upTo eventstore.Position) ([]TrailEntry, bool) {
	return t.render(itemID, upTo, false)
}

func (t *Trails) stateUpTo(pos eventstore.Position) ([]byte, error) {
	return json.Marshal(cutUpTo(t.st, pos))
}

func (t *Trails) render(itemID string, upTo eventstore.Position, public bool) ([]TrailEntry, bool) {
	es := t.st[itemID]
	n := 0
	for n < len(es) && es[n].Position <= upTo {
		n++
	}
	if n == 0 {
		return nil, false
	}
	out := make([]TrailEntry, n)
	for i, e := range es[:n] {
		out[i] = TrailEntry{Position: e.Position, Revision: e.Revision, RecordedAt: e.RecordedAt,
			OccurredAt: e.OccurredAt, Type: e.Type, Role: e.Role, Actor: e.Actor, TrailDetail: e.Detail}
		if public {
			out[i].Actor = t.pseudonym(e.Role, e.Actor)
			if e.Type == "ContentFlagged" && e.Detail.Source != string(domain.FlagByAutomated) {
				out[i].Actor = "" // who sent a notice is not public
			}
		}
	}
	return out, true
}

// pseudonym is the public name of a staff actor: stable per actor, not
// reversible without the key. Participants and unknown actors get none.
func (t *Trails) pseudonym(role, actor string) string {
	if actor == "" || role == string(domain.RoleParticipant) || role == "" {
		return ""
	}
	if role == string(domain.RoleSystem) {
		return actor // a classifier's or the ledger's own name is not personal
	}
	return Pseudonym(t.key, actor)
}

// Pseudonym returns the keyed pseudonym of an actor id: "p-" and 16 hex
// digits of HMAC-SHA256(key, id).
func Pseudonym(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return "p-" + hex.EncodeToString(m.Sum(nil)[:8])
}
