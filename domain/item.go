package domain

import (
	"time"
	"unicode/utf8"
)

// Status is an item's visibility as the read side shows it. Hiding never
// deletes: the content stays in the log and in state; only Status changes.
type Status string

// Item statuses.
const (
	StatusPending               Status = "pending" // pre-moderation: not public until approved
	StatusVisible               Status = "visible"
	StatusHidden                Status = "hidden"
	StatusDemoted               Status = "demoted"
	StatusLabelled              Status = "labelled"
	StatusInteractionRestricted Status = "interaction_restricted"
)

// Public reports whether the content is shown in public views.
func (s Status) Public() bool { return s != StatusPending && s != StatusHidden && s != "" }

// StatusAfter is the status an item has after a decision with visibility
// v, given its status before. Projections use it so that they agree with
// the domain.
func StatusAfter(before Status, v Visibility) Status {
	switch v {
	case VisibilityApproved, VisibilityRestored:
		return StatusVisible
	case VisibilityDisabled:
		return StatusHidden
	case VisibilityDemoted:
		return StatusDemoted
	case VisibilityLabelled:
		return StatusLabelled
	case VisibilityInteractionRestricted:
		return StatusInteractionRestricted
	}
	return before
}

// Item is the moderation state shared by submissions and comments: content
// version, visibility, notices, decisions and appeals.
type Item struct {
	ID           string
	Kind         ItemKind
	Exists       bool
	ProcessID    string
	Author       string
	Version      int // current content version, from 1
	Premoderated bool
	Status       Status
	Flags        map[string]*Flag
	Decisions    map[string]*Decision
	Appeals      map[string]*Appeal
	Disposed     bool
}

// Flag is the state of a notice.
type Flag struct {
	ID             string
	Source         FlagSource
	ContentVersion int
	DecidedBy      string // the decision that handled it, "" while open
}

// Decision is the state of a moderation decision.
type Decision struct {
	ID             string
	Visibility     Visibility
	ContentVersion int
	Moderator      string
	DecidedAt      time.Time
	OpenAppeal     string // id of the open appeal, "" if none
}

// Appeal is the state of an appeal.
type Appeal struct {
	ID         string
	DecisionID string
	Outcome    string // "" while open
}

func (it *Item) init(kind ItemKind, id, process, author string, premoderated bool) {
	*it = Item{ID: id, Kind: kind, Exists: true, ProcessID: process, Author: author, Version: 1,
		Premoderated: premoderated, Status: StatusVisible,
		Flags: map[string]*Flag{}, Decisions: map[string]*Decision{}, Appeals: map[string]*Appeal{}}
	if premoderated {
		it.Status = StatusPending
	}
}

// applyModeration folds the moderation events both item kinds share.
func (it *Item) applyModeration(ev Event) {
	switch e := ev.(type) {
	case *ContentFlagged:
		it.Flags[e.FlagID] = &Flag{ID: e.FlagID, Source: e.Source, ContentVersion: e.ContentVersion}
	case *ModerationDecided:
		it.Decisions[e.DecisionID] = &Decision{ID: e.DecisionID, Visibility: e.Visibility,
			ContentVersion: e.ContentVersion, Moderator: e.Moderator, DecidedAt: e.DecidedAt}
		for _, f := range e.FlagIDs {
			if fl := it.Flags[f]; fl != nil {
				fl.DecidedBy = e.DecisionID
			}
		}
		it.Status = StatusAfter(it.Status, e.Visibility)
	case *AppealFiled:
		it.Appeals[e.AppealID] = &Appeal{ID: e.AppealID, DecisionID: e.DecisionID}
		if d := it.Decisions[e.DecisionID]; d != nil {
			d.OpenAppeal = e.AppealID
		}
	case *AppealDecided:
		if a := it.Appeals[e.AppealID]; a != nil {
			a.Outcome = e.Outcome
		}
		if d := it.Decisions[e.DecisionID]; d != nil && d.OpenAppeal == e.AppealID {
			d.OpenAppeal = ""
		}
		if e.Outcome == AppealOverturned {
			// Only restrictions can be appealed, so reversing one makes
			// the content visible again.
			it.Status = StatusVisible
		}
	case *DisposalDecided:
		it.Disposed = true
	}
}

func (it Item) usable() error {
	if !it.Exists {
		return notFoundf("%s %q does not exist", it.Kind, it.ID)
	}
	if it.Disposed {
		return conflictf("%s %s was disposed", it.Kind, it.ID)
	}
	return nil
}

// FlagContent is a notice about an item's content.
type FlagContent struct {
	FlagID         string
	ContentVersion int
	Source         FlagSource
	Classifier     *Classifier // automated flags only
	Category       Category
	Explanation    string // the notifier's words; sealed with the item's key
	By             Actor
}

// Flag decides FlagContent.
func (it Item) Flag(cmd FlagContent) ([]Event, error) {
	if err := cmd.By.valid(); err != nil {
		return nil, err
	}
	switch cmd.Source {
	case FlagByParticipant:
		if cmd.By.Role != RoleParticipant && cmd.By.Role != RoleIntake {
			return nil, forbiddenf("a participant notice comes from a participant or through intake")
		}
	case FlagByStaff:
		if !cmd.By.is(RoleModerator, RoleOfficial, RoleIntake, RoleAdmin) {
			return nil, forbiddenf("role %s cannot raise a staff notice", cmd.By.Role)
		}
	case FlagByAutomated:
		if cmd.By.Role != RoleSystem {
			return nil, forbiddenf("automated notices come from the system role")
		}
	default:
		return nil, invalidf("flag source %q is not participant, staff or automated", cmd.Source)
	}
	if (cmd.Source == FlagByAutomated) != (cmd.Classifier != nil) {
		return nil, invalidf("a classifier is given exactly for automated notices")
	}
	if c := cmd.Classifier; c != nil {
		if err := checkText("classifier name", c.Name, maxShort); err != nil {
			return nil, err
		}
		if err := checkText("classifier version", c.Version, maxShort); err != nil {
			return nil, err
		}
		if !(c.Score >= 0 && c.Score <= 1) {
			return nil, invalidf("classifier score %v is not in [0, 1]", c.Score)
		}
	}
	if err := checkID("flag id", cmd.FlagID); err != nil {
		return nil, err
	}
	if !cmd.Category.valid() {
		return nil, invalidf("category %q is not a DSA statement category", cmd.Category)
	}
	if err := checkOptionalText("explanation", cmd.Explanation, maxLong); err != nil {
		return nil, err
	}
	if err := it.usable(); err != nil {
		return nil, err
	}
	if _, dup := it.Flags[cmd.FlagID]; dup {
		return nil, conflictf("flag %s already exists", cmd.FlagID)
	}
	if err := it.currentVersion(cmd.ContentVersion); err != nil {
		return nil, err
	}
	return []Event{&ContentFlagged{FlagID: cmd.FlagID, ItemID: it.ID, ItemKind: it.Kind, ContentVersion: cmd.ContentVersion,
		Source: cmd.Source, FlaggedBy: cmd.By.ID, Classifier: cmd.Classifier, Category: cmd.Category,
		Explanation: NewPersonal(it.ID, cmd.Explanation)}}, nil
}

// currentVersion rejects a command about a content version other than the
// current one: the content was revised since the actor looked at it.
func (it Item) currentVersion(v int) error {
	if v < 1 || v > it.Version {
		return invalidf("%s %s has no content version %d", it.Kind, it.ID, v)
	}
	if v != it.Version {
		return conflictf("%s %s: content version %d is stale (current is %d)", it.Kind, it.ID, v, it.Version)
	}
	return nil
}

// DecideModeration is a moderation decision with its statement of reasons.
type DecideModeration struct {
	DecisionID         string
	ContentVersion     int // the exact version the moderator saw
	Visibility         Visibility
	Ground             Ground
	LegalGround        string
	PolicyClause       string
	Category           Category
	Explanation        string // facts and circumstances relied on
	GroundExplanation  string // why the content is illegal / incompatible on the ground (restrictions)
	ContentType        []ContentType
	ContentTypeOther   string   // with ContentOther
	ContentDate        string   // YYYY-MM-DD the decided content version was posted
	TerritorialScope   []string // EU/EEA country codes; empty: not stated
	AutomatedDetection bool
	AutomatedDecision  AutomatedDecision
	Source             DecisionSource
	FlagIDs            []string
	By                 Actor
	At                 time.Time // when decided; starts the appeal window
}

// Decide decides DecideModeration. Restrictions need the full statement of
// reasons; approvals, restorations and "no action" need an explanation,
// source and automation flags but no ground.
func (it Item) Decide(cmd DecideModeration) ([]Event, error) {
	if err := cmd.By.valid(); err != nil {
		return nil, err
	}
	switch {
	case cmd.By.Role == RoleModerator && cmd.AutomatedDecision == AutomatedFully:
		return nil, invalidf("a decision by a moderator is not fully automated")
	case cmd.By.Role == RoleSystem && cmd.AutomatedDecision != AutomatedFully:
		return nil, invalidf("a decision by the system is fully automated")
	case cmd.By.Role != RoleModerator && cmd.By.Role != RoleSystem:
		return nil, forbiddenf("only moderators decide on content (role %s)", cmd.By.Role)
	}
	if err := checkID("decision id", cmd.DecisionID); err != nil {
		return nil, err
	}
	if err := checkStatement(cmd); err != nil {
		return nil, err
	}
	if cmd.At.IsZero() {
		return nil, invalidf("decision time is required")
	}
	if err := it.usable(); err != nil {
		return nil, err
	}
	if _, dup := it.Decisions[cmd.DecisionID]; dup {
		return nil, conflictf("decision %s already exists", cmd.DecisionID)
	}
	if err := it.currentVersion(cmd.ContentVersion); err != nil {
		return nil, err
	}
	automatedFlag := false
	for _, id := range cmd.FlagIDs {
		f := it.Flags[id]
		if f == nil {
			return nil, notFoundf("flag %q is not a notice about %s %s", id, it.Kind, it.ID)
		}
		if f.DecidedBy != "" {
			return nil, conflictf("flag %s was already decided by %s", id, f.DecidedBy)
		}
		if cmd.Source == SourceParticipantNotice && f.Source != FlagByParticipant {
			return nil, invalidf("source %s but flag %s is a %s notice", cmd.Source, id, f.Source)
		}
		automatedFlag = automatedFlag || f.Source == FlagByAutomated
	}
	if automatedFlag && !cmd.AutomatedDetection {
		return nil, invalidf("an automated notice is among the flags: automated_detection must be true")
	}
	switch {
	case cmd.Visibility == VisibilityApproved && it.Status != StatusPending:
		return nil, conflictf("%s %s is not awaiting approval (it is %s)", it.Kind, it.ID, it.Status)
	case cmd.Visibility == VisibilityRestored && (it.Status == StatusVisible || it.Status == StatusPending):
		return nil, conflictf("%s %s is not restricted (it is %s)", it.Kind, it.ID, it.Status)
	case cmd.Visibility.Restricts() && it.Status == StatusAfter(it.Status, cmd.Visibility):
		return nil, conflictf("%s %s is already %s", it.Kind, it.ID, it.Status)
	}
	return []Event{&ModerationDecided{
		DecisionID: cmd.DecisionID, ItemID: it.ID, ItemKind: it.Kind, ContentVersion: cmd.ContentVersion,
		ContentType: nonNil(cmd.ContentType), ContentTypeOther: cmd.ContentTypeOther, ContentDate: cmd.ContentDate,
		Visibility: cmd.Visibility, Ground: cmd.Ground, LegalGround: cmd.LegalGround, PolicyClause: cmd.PolicyClause,
		GroundExplanation: cmd.GroundExplanation, Category: cmd.Category, TerritorialScope: nonNil(cmd.TerritorialScope),
		Explanation: cmd.Explanation, AutomatedDetection: cmd.AutomatedDetection,
		AutomatedDecision: cmd.AutomatedDecision, Source: cmd.Source, FlagIDs: nonNil(cmd.FlagIDs),
		Moderator: cmd.By.ID, DecidedAt: cmd.At.UTC(),
	}}, nil
}

// Limits of a statement of reasons, in characters: the DSA Transparency
// Database's, so that every restriction can be submitted there.
const (
	maxFacts             = 5000
	maxGroundExplanation = 2000
	maxDSAText           = 500 // content_type_other
)

// checkStatement checks the statement of reasons alone.
func checkStatement(cmd DecideModeration) error {
	if !cmd.Visibility.valid() {
		return invalidf("visibility %q is not a known decision", cmd.Visibility)
	}
	if err := checkText("explanation (facts and circumstances)", cmd.Explanation, maxLong); err != nil {
		return err
	}
	if !cmd.AutomatedDecision.valid() {
		return invalidf("automated_decision %q is not fully, partially or not automated", cmd.AutomatedDecision)
	}
	if !cmd.Source.valid() {
		return invalidf("source %q is not a known notice source", cmd.Source)
	}
	if cmd.Source != SourceOwnInitiative && len(cmd.FlagIDs) == 0 {
		return invalidf("a decision on a notice names the flags it decides")
	}
	if err := checkContent(cmd); err != nil {
		return err
	}
	if err := validScope(cmd.TerritorialScope); err != nil {
		return err
	}
	if !cmd.Visibility.Restricts() {
		if cmd.Ground != "" || cmd.LegalGround != "" || cmd.PolicyClause != "" || cmd.GroundExplanation != "" {
			return invalidf("a %s decision restricts nothing and has no ground", cmd.Visibility)
		}
		if cmd.Category != "" && !cmd.Category.valid() {
			return invalidf("category %q is not a current DSA statement category", cmd.Category)
		}
		return nil
	}
	if !cmd.Category.valid() {
		return invalidf("category %q is not a current DSA statement category", cmd.Category)
	}
	if len(cmd.ContentType) == 0 {
		return invalidf("a restriction states the content type")
	}
	if cmd.ContentDate == "" {
		return invalidf("a restriction states the date the content was posted")
	}
	if n := utf8.RuneCountInString(cmd.Explanation); n > maxFacts {
		return invalidf("the facts and circumstances of a restriction are %d characters; at most %d", n, maxFacts)
	}
	if err := checkText("ground explanation", cmd.GroundExplanation, maxLong); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(cmd.GroundExplanation); n > maxGroundExplanation {
		return invalidf("the ground explanation is %d characters; at most %d", n, maxGroundExplanation)
	}
	switch cmd.Ground {
	case GroundIllegal:
		if err := checkText("legal ground", cmd.LegalGround, maxShort); err != nil {
			return err
		}
		if cmd.PolicyClause != "" {
			return invalidf("a decision on illegal content cites the law, not a policy clause")
		}
	case GroundIncompatible:
		if err := checkText("policy clause", cmd.PolicyClause, maxShort); err != nil {
			return err
		}
		if cmd.LegalGround != "" {
			return invalidf("a decision on incompatible content cites the terms, not the law")
		}
	default:
		return invalidf("ground %q is not illegal_content or incompatible_content", cmd.Ground)
	}
	return nil
}

// checkContent checks the content type and date when given.
func checkContent(cmd DecideModeration) error {
	seen := map[ContentType]bool{}
	for _, t := range cmd.ContentType {
		if !t.valid() || seen[t] {
			return invalidf("content type %q is unknown or repeated", t)
		}
		seen[t] = true
	}
	if seen[ContentOther] {
		if err := checkText("content type (other)", cmd.ContentTypeOther, maxLong); err != nil {
			return err
		}
		if utf8.RuneCountInString(cmd.ContentTypeOther) > maxDSAText {
			return invalidf("content type (other) is longer than %d characters", maxDSAText)
		}
	} else if cmd.ContentTypeOther != "" {
		return invalidf("content type (other) is only for content type other")
	}
	if cmd.ContentDate == "" {
		return nil
	}
	d, err := time.Parse(time.DateOnly, cmd.ContentDate)
	if err != nil || d.Format(time.DateOnly) != cmd.ContentDate {
		return invalidf("content date %q is not YYYY-MM-DD", cmd.ContentDate)
	}
	if d.Year() < 2000 {
		return invalidf("content date %s is before 2000", cmd.ContentDate)
	}
	return nil
}

// NotifyAuthor records that the author was told of a decision or of the
// decision on their appeal.
type NotifyAuthor struct {
	DecisionID string
	AppealID   string // "" for the decision itself
	Method     string // "in_app", "email" or "letter"
	By         Actor
}

// NotifyAuthor decides NotifyAuthor.
func (it Item) NotifyAuthor(cmd NotifyAuthor) ([]Event, error) {
	if err := cmd.By.require("notify an author", RoleModerator, RoleSystem, RoleIntake); err != nil {
		return nil, err
	}
	switch cmd.Method {
	case "in_app", "email", "letter":
	default:
		return nil, invalidf("method %q is not in_app, email or letter", cmd.Method)
	}
	if !it.Exists {
		return nil, notFoundf("%s %q does not exist", it.Kind, it.ID)
	}
	if it.Decisions[cmd.DecisionID] == nil {
		return nil, notFoundf("decision %q does not exist on %s %s", cmd.DecisionID, it.Kind, it.ID)
	}
	if cmd.AppealID != "" {
		a := it.Appeals[cmd.AppealID]
		if a == nil || a.DecisionID != cmd.DecisionID {
			return nil, notFoundf("appeal %q against decision %s does not exist", cmd.AppealID, cmd.DecisionID)
		}
		if a.Outcome == "" {
			return nil, conflictf("appeal %s is not decided yet", a.ID)
		}
	}
	return []Event{&AuthorNotified{ItemID: it.ID, ItemKind: it.Kind, DecisionID: cmd.DecisionID, AppealID: cmd.AppealID,
		Author: it.Author, Method: cmd.Method, NotifiedBy: cmd.By.ID}}, nil
}

// FileAppeal appeals a decision, by the item's author or by intake on the
// author's behalf.
type FileAppeal struct {
	AppealID   string
	DecisionID string
	Grounds    string // the author's words; sealed with the item's key
	OnBehalfOf string // the author, when intake files it
	By         Actor
	At         time.Time
}

// FileAppeal decides FileAppeal.
func (it Item) FileAppeal(cmd FileAppeal) ([]Event, error) {
	if err := cmd.By.valid(); err != nil {
		return nil, err
	}
	if err := checkID("appeal id", cmd.AppealID); err != nil {
		return nil, err
	}
	if err := checkText("grounds", cmd.Grounds, maxLong); err != nil {
		return nil, err
	}
	if cmd.At.IsZero() {
		return nil, invalidf("filing time is required")
	}
	if !it.Exists {
		return nil, notFoundf("%s %q does not exist", it.Kind, it.ID)
	}
	switch {
	case cmd.By.Role == RoleParticipant && cmd.By.ID == it.Author && cmd.OnBehalfOf == "":
	case cmd.By.Role == RoleIntake && cmd.OnBehalfOf == it.Author:
	case cmd.By.Role == RoleIntake:
		return nil, forbiddenf("intake files an appeal only on behalf of the author")
	default:
		return nil, forbiddenf("only the author of %s %s may appeal", it.Kind, it.ID)
	}
	if err := it.usable(); err != nil {
		return nil, err
	}
	d := it.Decisions[cmd.DecisionID]
	if d == nil {
		return nil, notFoundf("decision %q does not exist on %s %s", cmd.DecisionID, it.Kind, it.ID)
	}
	if !d.Visibility.Restricts() {
		return nil, conflictf("decision %s (%s) restricts nothing and cannot be appealed", d.ID, d.Visibility)
	}
	if d.OpenAppeal != "" {
		return nil, conflictf("decision %s already has an open appeal (%s)", d.ID, d.OpenAppeal)
	}
	if _, dup := it.Appeals[cmd.AppealID]; dup {
		return nil, conflictf("appeal %s already exists", cmd.AppealID)
	}
	if cmd.At.Before(d.DecidedAt) {
		return nil, invalidf("an appeal cannot be filed (%s) before the decision it appeals (%s)",
			cmd.At.UTC().Format(time.RFC3339), d.DecidedAt.UTC().Format(time.RFC3339))
	}
	if cmd.At.Sub(d.DecidedAt) > appealWindow {
		return nil, conflictf("the appeal window for decision %s closed on %s", d.ID, d.DecidedAt.Add(appealWindow).Format(time.DateOnly))
	}
	return []Event{&AppealFiled{AppealID: cmd.AppealID, DecisionID: d.ID, ItemID: it.ID, ItemKind: it.Kind,
		By: it.Author, RegisteredBy: registeredBy(cmd.By), Grounds: NewPersonal(it.ID, cmd.Grounds)}}, nil
}

// DecideAppeal decides an appeal; a moderator may not review their own
// decision.
type DecideAppeal struct {
	AppealID    string
	Outcome     string // AppealUpheld or AppealOverturned
	Explanation string
	By          Actor
}

// DecideAppeal decides DecideAppeal.
func (it Item) DecideAppeal(cmd DecideAppeal) ([]Event, error) {
	if err := cmd.By.require("decide an appeal", RoleModerator); err != nil {
		return nil, err
	}
	if cmd.Outcome != AppealUpheld && cmd.Outcome != AppealOverturned {
		return nil, invalidf("outcome %q is not upheld or overturned", cmd.Outcome)
	}
	if err := checkText("explanation", cmd.Explanation, maxLong); err != nil {
		return nil, err
	}
	if !it.Exists {
		return nil, notFoundf("%s %q does not exist", it.Kind, it.ID)
	}
	a := it.Appeals[cmd.AppealID]
	if a == nil {
		return nil, notFoundf("appeal %q does not exist on %s %s", cmd.AppealID, it.Kind, it.ID)
	}
	if a.Outcome != "" {
		return nil, conflictf("appeal %s was already decided (%s)", a.ID, a.Outcome)
	}
	d := it.Decisions[a.DecisionID]
	if d == nil {
		return nil, notFoundf("decision %q of appeal %s does not exist", a.DecisionID, a.ID)
	}
	if d.Moderator == cmd.By.ID {
		return nil, forbiddenf("moderator %s made decision %s and may not decide its appeal", cmd.By.ID, d.ID)
	}
	return []Event{&AppealDecided{AppealID: a.ID, DecisionID: d.ID, ItemID: it.ID, ItemKind: it.Kind,
		Outcome: cmd.Outcome, Moderator: cmd.By.ID, Explanation: cmd.Explanation}}, nil
}

// PostsContent reports which content version of which item ev posts:
// SubmissionReceived, CommentPosted and StatementPosted post version 1,
// SubmissionRevised the version it names. The event's occurred-at is when
// that version was posted: a statement of reasons' content date.
func PostsContent(ev Event) (item string, version int, ok bool) {
	switch e := ev.(type) {
	case *SubmissionReceived:
		return e.SubmissionID, 1, true
	case *SubmissionRevised:
		return e.SubmissionID, e.Version, true
	case *CommentPosted:
		return e.CommentID, 1, true
	case *StatementPosted:
		return e.StatementID, 1, true
	}
	return "", 0, false
}
