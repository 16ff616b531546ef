package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	official  = Actor{ID: "official-anna", Role: RoleOfficial}
	intake    = Actor{ID: "intake-bo", Role: RoleIntake}
	modKim    = Actor{ID: "moderator-kim", Role: RoleModerator}
	modLo     = Actor{ID: "moderator-lo", Role: RoleModerator}
	admin     = Actor{ID: "admin-eva", Role: RoleAdmin}
	system    = Actor{ID: "classifier", Role: RoleSystem}
	alice     = Actor{ID: "alice", Role: RoleParticipant}
	bob       = Actor{ID: "bob", Role: RoleParticipant}
	decidedAt = time.Date(2024, 10, 1, 9, 0, 0, 0, time.UTC)
)

// ok returns a function that fails the test on err and returns the
// events: ok(t)(s.Decide(cmd)).
func ok(t *testing.T) func([]Event, error) []Event {
	return func(evs []Event, err error) []Event {
		t.Helper()
		require.NoError(t, err)
		require.NotEmpty(t, evs)
		return evs
	}
}

// is asserts that err wraps want and mentions all of words.
func is(t *testing.T, err, want error, words ...string) {
	t.Helper()
	require.Error(t, err)
	assert.True(t, errors.Is(err, want), "error %q is not %v", err, want)
	for _, w := range words {
		assert.Contains(t, err.Error(), w)
	}
}

func openProcess(t *testing.T, mode ModerationMode, threshold int) []Event {
	t.Helper()
	return ok(t)(Process{}.Open(OpenProcess{
		ProcessID: "p1", Title: Text{Sv: "Lekplatser i Hyllie"}, Kind: KindProposal, OwnerBody: "Kommunstyrelsen",
		CaseNumber: "STK-2024-622", Administrations: []string{"Stadskontoret"}, SupportThreshold: threshold,
		ModerationMode: mode, PolicyReference: "Villkor 2024",
		Phases: []Phase{
			{Name: "förslag", StartsAt: decidedAt, Accepts: []ContributionKind{AcceptsSubmissions, AcceptsComments, AcceptsSupport, AcceptsSurveyAnswers}},
			{Name: "beredning", StartsAt: decidedAt.AddDate(0, 1, 0), Accepts: []ContributionKind{AcceptsComments}},
		},
		By: official,
	}))
}

// world is a process with one submission by alice, folded.
type world struct {
	p    Process
	s    Submission
	sEvs []Event
}

func newWorld(t *testing.T, mode ModerationMode, threshold int) *world {
	w := &world{p: Fold[Process](openProcess(t, mode, threshold))}
	w.apply(t, ok(t)(Submission{}.Receive(w.p, ReceiveSubmission{SubmissionID: "s1", Author: "alice", Channel: ChannelWeb,
		Language: "sv", Title: "Gungor", Body: "Fler gungor i Hyllieparken", By: alice})))
	return w
}

func (w *world) apply(t *testing.T, evs []Event) {
	t.Helper()
	for _, e := range evs {
		require.Equal(t, StreamForSubmission("s1"), StreamOf(e), "event %s on the wrong stream", e.EventType())
		// Sealing as the command service would, so that Encode succeeds:
		// every event the domain returns must be encodable once sealed.
		for _, p := range PersonalFields(e) {
			if p.Plain != "" {
				p.Sealed, p.Plain = []byte("sealed:"+p.Plain), ""
			}
		}
		_, _, _, err := Encode(e)
		require.NoError(t, err)
	}
	w.sEvs = append(w.sEvs, evs...)
	w.s = Fold[Submission](w.sEvs)
}

func hide(version int) DecideModeration {
	return DecideModeration{DecisionID: "d1", ContentVersion: version, Visibility: VisibilityDisabled,
		Ground: GroundIncompatible, PolicyClause: "§4.2", Category: CategoryIllegalOrHarmfulSpeech,
		Explanation: "Personangrepp mot en namngiven granne.", GroundExplanation: "Villkoren förbjuder personangrepp.",
		ContentType: []ContentType{ContentText}, ContentDate: "2024-09-30", TerritorialScope: EEA(),
		AutomatedDecision: AutomatedNot, Source: SourceOwnInitiative, FlagIDs: nil, By: modKim, At: decidedAt}
}

func TestDecisionCarriesStatementOfReasons(t *testing.T) {
	w := newWorld(t, ModerationPost, 0)
	w.apply(t, ok(t)(w.s.Flag(FlagContent{FlagID: "f1", ContentVersion: 1, Source: FlagByAutomated,
		Classifier: &Classifier{Name: "tox", Version: "1", Score: 0.9}, Category: CategoryIllegalOrHarmfulSpeech, By: system})))

	full := hide(1)
	full.Source, full.FlagIDs, full.AutomatedDetection, full.AutomatedDecision = SourceOwnInitiative, []string{"f1"}, true, AutomatedPartially
	for name, mutate := range map[string]func(*DecideModeration){
		"no ground":                   func(c *DecideModeration) { c.Ground = "" },
		"unknown ground":              func(c *DecideModeration) { c.Ground = "rude" },
		"terms without clause":        func(c *DecideModeration) { c.PolicyClause = "" },
		"illegal without law":         func(c *DecideModeration) { c.Ground, c.PolicyClause = GroundIllegal, "" },
		"no category":                 func(c *DecideModeration) { c.Category = "" },
		"unknown category":            func(c *DecideModeration) { c.Category = "spam" },
		"no explanation":              func(c *DecideModeration) { c.Explanation = "  " },
		"no automation flag":          func(c *DecideModeration) { c.AutomatedDecision = "" },
		"no source":                   func(c *DecideModeration) { c.Source = "" },
		"notice without flags":        func(c *DecideModeration) { c.Source, c.FlagIDs = SourceStaffNotice, nil },
		"automated flag undeclared":   func(c *DecideModeration) { c.AutomatedDetection = false },
		"no content version":          func(c *DecideModeration) { c.ContentVersion = 0 },
		"no decision time":            func(c *DecideModeration) { c.At = time.Time{} },
		"moderator claims full auto":  func(c *DecideModeration) { c.AutomatedDecision = AutomatedFully },
		"unknown visibility":          func(c *DecideModeration) { c.Visibility = "content_removed" },
		"approval with a ground":      func(c *DecideModeration) { c.Visibility = VisibilityNoAction },
		"illegal cites policy clause": func(c *DecideModeration) { c.Ground, c.LegalGround = GroundIllegal, "BrB 5:1" },
		"retired category":            func(c *DecideModeration) { c.Category = "scope_of_platform_service" },
		"needs review is no category": func(c *DecideModeration) { c.Category = CategoryNeedsReview },
		"no ground explanation":       func(c *DecideModeration) { c.GroundExplanation = "" },
		"ground explanation > 2000":   func(c *DecideModeration) { c.GroundExplanation = strings.Repeat("å", 2001) },
		"facts > 5000":                func(c *DecideModeration) { c.Explanation = strings.Repeat("ö", 5001) },
		"no content type":             func(c *DecideModeration) { c.ContentType = nil },
		"unknown content type":        func(c *DecideModeration) { c.ContentType = []ContentType{"hologram"} },
		"repeated content type":       func(c *DecideModeration) { c.ContentType = []ContentType{ContentText, ContentText} },
		"other without description":   func(c *DecideModeration) { c.ContentType = []ContentType{ContentOther} },
		"description without other":   func(c *DecideModeration) { c.ContentTypeOther = "karta" },
		"no content date":             func(c *DecideModeration) { c.ContentDate = "" },
		"content date not a date":     func(c *DecideModeration) { c.ContentDate = "2024-9-30" },
		"content date before 2000":    func(c *DecideModeration) { c.ContentDate = "1999-12-31" },
		"scope outside the EEA":       func(c *DecideModeration) { c.TerritorialScope = []string{"SE", "GB"} },
		"scope in lower case":         func(c *DecideModeration) { c.TerritorialScope = []string{"se"} },
		"no action with explanation":  func(c *DecideModeration) { c.Visibility, c.Ground, c.PolicyClause = VisibilityNoAction, "", "" },
	} {
		cmd := full
		mutate(&cmd)
		_, err := w.s.Decide(cmd)
		assert.ErrorIs(t, err, ErrInvalid, name)
	}

	_, err := w.s.Decide(func() DecideModeration { c := full; c.By = official; return c }())
	is(t, err, ErrForbidden, "moderator")
	_, err = w.s.Decide(func() DecideModeration { c := full; c.FlagIDs = []string{"f9"}; return c }())
	is(t, err, ErrNotFound, "f9")

	evs := ok(t)(w.s.Decide(full))
	d := evs[0].(*ModerationDecided)
	assert.Equal(t, &ModerationDecided{DecisionID: "d1", ItemID: "s1", ItemKind: ItemSubmission, ContentVersion: 1,
		ContentType: []ContentType{ContentText}, ContentDate: "2024-09-30",
		Visibility: VisibilityDisabled, Ground: GroundIncompatible, PolicyClause: "§4.2", Category: CategoryIllegalOrHarmfulSpeech,
		GroundExplanation: "Villkoren förbjuder personangrepp.", TerritorialScope: EEA(),
		Explanation: "Personangrepp mot en namngiven granne.", AutomatedDetection: true, AutomatedDecision: AutomatedPartially,
		Source: SourceOwnInitiative, FlagIDs: []string{"f1"}, Moderator: "moderator-kim", DecidedAt: decidedAt}, d)
	assert.Equal(t, "DECISION_VISIBILITY_CONTENT_DISABLED", d.Visibility.DSA())
	assert.Equal(t, "DECISION_GROUND_INCOMPATIBLE_CONTENT", d.Ground.DSA())
	assert.Equal(t, "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", d.Category.DSA())
	w.apply(t, evs)

	// A notice is decided once.
	c := full
	c.DecisionID, c.Visibility = "d2", VisibilityLabelled
	_, err = w.s.Decide(c)
	is(t, err, ErrConflict, "f1")

	// The system may decide only fully automatically.
	c = full
	c.DecisionID, c.FlagIDs, c.By = "d3", nil, system
	_, err = w.s.Decide(c)
	is(t, err, ErrInvalid, "fully automated")
}

func TestDecisionOnStaleVersionRejected(t *testing.T) {
	w := newWorld(t, ModerationPost, 0)
	w.apply(t, ok(t)(w.s.Revise(w.p, ReviseSubmission{Title: "Gungor", Body: "Fler gungor, och bänkar", By: alice})))
	require.Equal(t, 2, w.s.Version)

	_, err := w.s.Decide(hide(1))
	is(t, err, ErrConflict, "stale", "current is 2")
	_, err = w.s.Decide(hide(3))
	is(t, err, ErrInvalid, "no content version 3")
	evs := ok(t)(w.s.Decide(hide(2)))
	assert.Equal(t, 2, evs[0].(*ModerationDecided).ContentVersion)

	// Flags are about a version too.
	_, err = w.s.Flag(FlagContent{FlagID: "f1", ContentVersion: 1, Source: FlagByParticipant, Category: CategoryScams, By: bob})
	is(t, err, ErrConflict, "stale")
}

func TestHideAndRestoreNeverDelete(t *testing.T) {
	w := newWorld(t, ModerationPost, 0)
	title, body := w.s.Title, w.s.Body
	require.NotEmpty(t, body.Sealed)
	require.Equal(t, StatusVisible, w.s.Status)

	w.apply(t, ok(t)(w.s.Decide(hide(1))))
	assert.Equal(t, StatusHidden, w.s.Status)
	assert.False(t, w.s.Status.Public())
	assert.True(t, w.s.Exists)
	assert.Equal(t, title, w.s.Title, "hiding kept the content")
	assert.Equal(t, body, w.s.Body)
	assert.Len(t, w.sEvs, 2, "hiding appends; nothing is removed")

	again := hide(1)
	again.DecisionID = "d1b"
	_, err := w.s.Decide(again)
	is(t, err, ErrConflict, "already hidden")

	restore := DecideModeration{DecisionID: "d2", ContentVersion: 1, Visibility: VisibilityRestored,
		Explanation: "Omprövat: kritik av verksamheten, inte av en person.", AutomatedDecision: AutomatedNot,
		Source: SourceOwnInitiative, By: modLo, At: decidedAt.Add(time.Hour)}
	w.apply(t, ok(t)(w.s.Decide(restore)))
	assert.Equal(t, StatusVisible, w.s.Status)
	assert.Equal(t, body, w.s.Body)
	assert.Len(t, w.s.Decisions, 2, "both decisions stay on record")

	restore.DecisionID = "d3"
	_, err = w.s.Decide(restore)
	is(t, err, ErrConflict, "not restricted")

	// No event type deletes: the only way content goes is disposal, which
	// is a recorded decision, and even then the stream keeps its events.
	for _, typ := range EventTypes() {
		assert.NotContains(t, strings.ToLower(typ), "delet")
		assert.NotContains(t, strings.ToLower(typ), "remov")
	}
}

func TestAppealRules(t *testing.T) {
	w := newWorld(t, ModerationPost, 0)
	w.apply(t, ok(t)(w.s.Decide(hide(1))))
	appeal := FileAppeal{AppealID: "a1", DecisionID: "d1", Grounds: "Jag nämnde ingen person.", By: alice, At: decidedAt.Add(24 * time.Hour)}

	// Only the author, or intake on the author's behalf.
	c := appeal
	c.By = bob
	_, err := w.s.FileAppeal(c)
	is(t, err, ErrForbidden, "author")
	c.By, c.OnBehalfOf = intake, "bob"
	_, err = w.s.FileAppeal(c)
	is(t, err, ErrForbidden, "behalf")
	c.By = modLo
	_, err = w.s.FileAppeal(c)
	is(t, err, ErrForbidden)
	c.By, c.OnBehalfOf = intake, "alice"
	evs := ok(t)(w.s.FileAppeal(c))
	assert.Equal(t, "alice", evs[0].(*AppealFiled).By)
	assert.Equal(t, "intake-bo", evs[0].(*AppealFiled).RegisteredBy)
	assert.Equal(t, Personal{Subject: "s1", Plain: "Jag nämnde ingen person."}, evs[0].(*AppealFiled).Grounds)

	// Outside the window.
	c = appeal
	c.At = decidedAt.AddDate(0, 7, 0)
	_, err = w.s.FileAppeal(c)
	is(t, err, ErrConflict, "window")
	// Nor before the decision it appeals (the two clocks stay consistent).
	c.At = decidedAt.Add(-time.Hour)
	_, err = w.s.FileAppeal(c)
	is(t, err, ErrInvalid, "before the decision")

	w.apply(t, ok(t)(w.s.FileAppeal(appeal)))

	// At most one open appeal per decision.
	c = appeal
	c.AppealID = "a2"
	_, err = w.s.FileAppeal(c)
	is(t, err, ErrConflict, "open appeal", "a1")

	// Decided by a moderator other than the one who decided.
	decide := DecideAppeal{AppealID: "a1", Outcome: AppealOverturned, Explanation: "Ingen person pekas ut.", By: modKim}
	_, err = w.s.DecideAppeal(decide)
	is(t, err, ErrForbidden, "moderator-kim")
	decide.By = official
	_, err = w.s.DecideAppeal(decide)
	is(t, err, ErrForbidden)
	decide.By = modLo
	w.apply(t, ok(t)(w.s.DecideAppeal(decide)))
	assert.Equal(t, StatusVisible, w.s.Status, "overturning a hide shows the content again")
	_, err = w.s.DecideAppeal(decide)
	is(t, err, ErrConflict, "already decided")

	// Once the appeal is decided, it is no longer open.
	c = appeal
	c.AppealID = "a2"
	ok(t)(w.s.FileAppeal(c))

	// The author can be told of the appeal decision.
	evs = ok(t)(w.s.NotifyAuthor(NotifyAuthor{DecisionID: "d1", AppealID: "a1", Method: "email", By: system}))
	assert.Equal(t, "alice", evs[0].(*AuthorNotified).Author)

	// Decisions that restrict nothing cannot be appealed.
	w2 := newWorld(t, ModerationPre, 0)
	w2.apply(t, ok(t)(w2.s.Decide(DecideModeration{DecisionID: "d1", ContentVersion: 1, Visibility: VisibilityApproved,
		Explanation: "Följer villkoren.", AutomatedDecision: AutomatedNot, Source: SourceOwnInitiative, By: modKim, At: decidedAt})))
	_, err = w2.s.FileAppeal(appeal)
	is(t, err, ErrConflict, "restricts nothing")
}

func TestPreModerationKeepsContentOutOfPublicViews(t *testing.T) {
	w := newWorld(t, ModerationPre, 0)
	assert.True(t, w.sEvs[0].(*SubmissionReceived).Premoderated)
	assert.Equal(t, StatusPending, w.s.Status)
	assert.False(t, w.s.Status.Public())

	// Nobody can support or comment on what is not public yet.
	_, err := w.s.GiveSupport(w.p, GiveSupport{ParticipantID: "bob", By: bob})
	is(t, err, ErrConflict, "pending")
	_, err = Comment{}.Post(w.p, w.s, Comment{}, PostComment{CommentID: "c1", Author: "bob", Channel: ChannelWeb, Language: "sv", Body: "Bra!", By: bob})
	is(t, err, ErrConflict, "pending")

	approve := DecideModeration{DecisionID: "d1", ContentVersion: 1, Visibility: VisibilityApproved,
		Explanation: "Följer villkoren.", AutomatedDecision: AutomatedNot, Source: SourceOwnInitiative, By: modKim, At: decidedAt}
	w.apply(t, ok(t)(w.s.Decide(approve)))
	assert.Equal(t, StatusVisible, w.s.Status)
	approve.DecisionID = "d2"
	_, err = w.s.Decide(approve)
	is(t, err, ErrConflict, "not awaiting approval")

	// A new version waits for approval again.
	w.apply(t, ok(t)(w.s.Revise(w.p, ReviseSubmission{Title: "Gungor", Body: "Nya gungor", By: alice})))
	assert.Equal(t, StatusPending, w.s.Status)
	approve.ContentVersion = 2
	w.apply(t, ok(t)(w.s.Decide(approve)))
	assert.Equal(t, StatusVisible, w.s.Status)

	// Comments in a pre-moderated process wait too.
	evs := ok(t)(Comment{}.Post(w.p, w.s, Comment{}, PostComment{CommentID: "c1", Author: "bob", Channel: ChannelWeb, Language: "sv", Body: "Bra!", By: bob}))
	assert.Equal(t, StatusPending, Fold[Comment](evs).Status)

	// Post-moderation publishes at once.
	assert.Equal(t, StatusVisible, newWorld(t, ModerationPost, 0).s.Status)
}

func TestSupportOncePerParticipantAndThresholdOnce(t *testing.T) {
	w := newWorld(t, ModerationPost, 2)
	give := func(id string) ([]Event, error) {
		return w.s.GiveSupport(w.p, GiveSupport{ParticipantID: id, By: Actor{ID: id, Role: RoleParticipant}})
	}
	evs := ok(t)(give("p1"))
	require.Len(t, evs, 1)
	w.apply(t, evs)

	_, err := give("p1")
	is(t, err, ErrConflict, "already supports")
	_, err = w.s.GiveSupport(w.p, GiveSupport{ParticipantID: "p9", By: Actor{ID: "p1", Role: RoleParticipant}})
	is(t, err, ErrForbidden)

	evs = ok(t)(give("p2"))
	require.Len(t, evs, 2, "crossing the threshold")
	reached := evs[1].(*SupportThresholdReached)
	sum := sha256.Sum256([]byte("p1\np2\n"))
	assert.Equal(t, &SupportThresholdReached{SubmissionID: "s1", ProcessID: "p1", Threshold: 2, Count: 2,
		SupporterSetHash: hex.EncodeToString(sum[:])}, reached)
	assert.Equal(t, reached.SupporterSetHash, SupporterSetHash([]string{"p2", "p1"}), "order does not matter")
	w.apply(t, evs)

	// Withdrawing and re-crossing does not emit again.
	w.apply(t, ok(t)(w.s.WithdrawSupport(w.p, WithdrawSupport{ParticipantID: "p2", By: Actor{ID: "p2", Role: RoleParticipant}})))
	assert.Len(t, w.s.Supporters, 1)
	_, err = w.s.WithdrawSupport(w.p, WithdrawSupport{ParticipantID: "p2", By: Actor{ID: "p2", Role: RoleParticipant}})
	is(t, err, ErrConflict, "does not support")
	evs = ok(t)(give("p2"))
	assert.Len(t, evs, 1)
	w.apply(t, evs)
	evs = ok(t)(give("p3"))
	assert.Len(t, evs, 1)

	// Intake registers a paper signature on a participant's behalf.
	ok(t)(w.s.GiveSupport(w.p, GiveSupport{ParticipantID: "p4", By: intake}))

	// No threshold: never emitted.
	w0 := newWorld(t, ModerationPost, 0)
	assert.Len(t, ok(t)(w0.s.GiveSupport(w0.p, GiveSupport{ParticipantID: "bob", By: bob})), 1)
}

func TestClosedProcessesAndPhasesRejectContributions(t *testing.T) {
	w := newWorld(t, ModerationPost, 0)
	procEvs := openProcess(t, ModerationPost, 0)

	// The second phase accepts comments only.
	procEvs = append(procEvs, ok(t)(w.p.ChangePhase(ChangePhase{To: "beredning", By: official}))...)
	p := Fold[Process](procEvs)
	_, err := Submission{}.Receive(p, ReceiveSubmission{SubmissionID: "s2", Author: "bob", Channel: ChannelWeb, Language: "sv", Title: "T", Body: "B", By: bob})
	is(t, err, ErrConflict, `phase "beredning"`, "does not accept submissions")
	_, err = w.s.GiveSupport(p, GiveSupport{ParticipantID: "bob", By: bob})
	is(t, err, ErrConflict, "does not accept support")
	_, err = w.s.Revise(p, ReviseSubmission{Title: "T", Body: "B", By: alice})
	is(t, err, ErrConflict, "does not accept submissions")
	ok(t)(Comment{}.Post(p, w.s, Comment{}, PostComment{CommentID: "c1", Author: "bob", Channel: ChannelWeb, Language: "sv", Body: "Bra", By: bob}))
	_, err = p.ChangePhase(ChangePhase{To: "beredning", By: official})
	is(t, err, ErrConflict, "already in phase")
	_, err = p.ChangePhase(ChangePhase{To: "nope", By: official})
	is(t, err, ErrInvalid)

	procEvs = append(procEvs, ok(t)(p.Close(CloseProcess{Reason: "Klart", By: official}))...)
	p = Fold[Process](procEvs)
	_, err = Comment{}.Post(p, w.s, Comment{}, PostComment{CommentID: "c2", Author: "bob", Channel: ChannelWeb, Language: "sv", Body: "Bra", By: bob})
	is(t, err, ErrConflict, "closed", "comments")
	_, err = Submission{}.Receive(p, ReceiveSubmission{SubmissionID: "s2", Author: "bob", Channel: ChannelWeb, Language: "sv", Title: "T", Body: "B", By: bob})
	is(t, err, ErrConflict, "closed")
	_, err = p.Close(CloseProcess{By: official})
	is(t, err, ErrConflict, "already closed")
	_, err = p.ChangePhase(ChangePhase{To: "förslag", By: official})
	is(t, err, ErrConflict, "closed")

	// A process that does not exist.
	_, err = Submission{}.Receive(Process{ID: "p9"}, ReceiveSubmission{SubmissionID: "s2", Author: "bob", Channel: ChannelWeb, Language: "sv", Title: "T", Body: "B", By: bob})
	is(t, err, ErrNotFound, "p9")
}

func TestContributionChannelsAndRoles(t *testing.T) {
	p := Fold[Process](openProcess(t, ModerationPost, 0))
	base := ReceiveSubmission{SubmissionID: "s2", Author: "bob", Channel: ChannelWeb, Language: "sv", Title: "T", Body: "B", By: bob}
	for name, c := range map[string]struct {
		mutate func(*ReceiveSubmission)
		want   error
	}{
		"participant as someone else": {func(c *ReceiveSubmission) { c.Author = "alice" }, ErrForbidden},
		"participant on paper":        {func(c *ReceiveSubmission) { c.Channel = ChannelPaper }, ErrInvalid},
		"moderator submits":           {func(c *ReceiveSubmission) { c.By = modKim }, ErrForbidden},
		"unknown channel":             {func(c *ReceiveSubmission) { c.Channel = "fax" }, ErrInvalid},
		"no title":                    {func(c *ReceiveSubmission) { c.Title = "" }, ErrInvalid},
		"bad id":                      {func(c *ReceiveSubmission) { c.SubmissionID = "a b" }, ErrInvalid},
		"no language":                 {func(c *ReceiveSubmission) { c.Language = "" }, ErrInvalid},
	} {
		cmd := base
		c.mutate(&cmd)
		_, err := Submission{}.Receive(p, cmd)
		assert.ErrorIs(t, err, c.want, name)
	}
	cmd := base
	cmd.By, cmd.Channel = intake, ChannelPaper
	evs := ok(t)(Submission{}.Receive(p, cmd))
	got := evs[0].(*SubmissionReceived)
	assert.Equal(t, "intake-bo", got.RegisteredBy)
	assert.Equal(t, Personal{Subject: "s2", Plain: "B"}, got.Body, "content is sealed with the item's key")

	// Only the author (or intake) revises.
	s := Fold[Submission](evs)
	_, err := s.Revise(p, ReviseSubmission{Title: "T", Body: "B2", By: alice})
	is(t, err, ErrForbidden)
	_, err = Submission{}.Receive(p, base)
	require.NoError(t, err)
	_, err = s.Receive(p, base)
	is(t, err, ErrConflict, "already exists")
}

func TestThreadedComments(t *testing.T) {
	w := newWorld(t, ModerationPost, 0)
	post := PostComment{CommentID: "c1", Author: "bob", Channel: ChannelWeb, Language: "sv", Body: "Bra", By: bob}
	parent := Fold[Comment](ok(t)(Comment{}.Post(w.p, w.s, Comment{}, post)))
	reply := post
	reply.CommentID, reply.ParentID = "c2", "c1"
	evs := ok(t)(Comment{}.Post(w.p, w.s, parent, reply))
	assert.Equal(t, "c1", evs[0].(*CommentPosted).ParentID)
	assert.Equal(t, StreamForComment("c2"), StreamOf(evs[0]))

	reply.ParentID = "c9"
	_, err := Comment{}.Post(w.p, w.s, Comment{}, reply)
	is(t, err, ErrNotFound, "c9")

	other := Fold[Comment]([]Event{&CommentPosted{CommentID: "c9", SubmissionID: "s-other", ProcessID: "p1", Author: "bob", Body: Personal{Subject: "c9"}}})
	_, err = Comment{}.Post(w.p, w.s, other, reply)
	is(t, err, ErrInvalid, "another submission")

	// Comments are moderated like submissions, on their own stream.
	c := Fold[Comment](evs)
	d := hide(1)
	hidden := ok(t)(c.Decide(d))
	assert.Equal(t, StreamForComment("c2"), StreamOf(hidden[0]))
	assert.Equal(t, StatusHidden, Fold[Comment](append(evs, hidden...)).Status)
}

func TestSurveyAnswers(t *testing.T) {
	procEvs := openProcess(t, ModerationPost, 0)
	p := Fold[Process](procEvs)
	answer := AnswerSurvey{SurveyID: "sv1", ParticipantID: "bob", Channel: ChannelWeb, By: bob,
		Answers: []SurveyResponse{{QuestionID: "q1", Choices: []string{"yes"}}, {QuestionID: "q3", Text: "Mer ljus"}}}
	_, err := SurveyAnswer{}.Answer(p, answer)
	is(t, err, ErrNotFound, "no survey")

	survey := PublishSurvey{SurveyID: "sv1", Title: Text{Sv: "Enkät"}, By: official, Questions: []Question{
		{ID: "q1", Kind: QuestionSingleChoice, Text: Text{Sv: "Trygg?"}, Options: []Option{{ID: "yes", Text: Text{Sv: "Ja"}}, {ID: "no", Text: Text{Sv: "Nej"}}}, Required: true},
		{ID: "q2", Kind: QuestionScale, Text: Text{Sv: "Nöjd?"}, ScaleMin: 1, ScaleMax: 5},
		{ID: "q3", Kind: QuestionFreeText, Text: Text{Sv: "Övrigt"}},
	}}
	procEvs = append(procEvs, ok(t)(p.PublishSurvey(survey))...)
	p = Fold[Process](procEvs)
	_, err = p.PublishSurvey(survey)
	is(t, err, ErrConflict, "already has survey")

	evs := ok(t)(SurveyAnswer{}.Answer(p, answer))
	got := evs[0].(*SurveyAnswered)
	assert.Equal(t, StreamForSurveyAnswer("p1", "bob"), StreamOf(got))
	assert.Equal(t, Personal{Subject: "bob", Plain: "Mer ljus"}, got.Answers[1].Text, "free text is sealed with the participant's key")
	assert.Len(t, PersonalFields(got), 2)

	_, err = Fold[SurveyAnswer](evs).Answer(p, answer)
	is(t, err, ErrConflict, "already answered")

	five, six := 5, 6
	for name, rs := range map[string][]SurveyResponse{
		"required missing": {{QuestionID: "q3", Text: "x"}},
		"two choices":      {{QuestionID: "q1", Choices: []string{"yes", "no"}}},
		"unknown option":   {{QuestionID: "q1", Choices: []string{"maybe"}}},
		"unknown question": {{QuestionID: "q1", Choices: []string{"yes"}}, {QuestionID: "q7", Text: "x"}},
		"out of scale":     {{QuestionID: "q1", Choices: []string{"yes"}}, {QuestionID: "q2", Scale: &six}},
		"answered twice":   {{QuestionID: "q1", Choices: []string{"yes"}}, {QuestionID: "q1", Choices: []string{"no"}}},
		"text on choice":   {{QuestionID: "q1", Choices: []string{"yes"}, Text: "x"}},
	} {
		a := answer
		a.Answers = rs
		_, err := SurveyAnswer{}.Answer(p, a)
		assert.ErrorIs(t, err, ErrInvalid, name)
	}
	a := answer
	a.Answers = []SurveyResponse{{QuestionID: "q1", Choices: []string{"no"}}, {QuestionID: "q2", Scale: &five}}
	ok(t)(SurveyAnswer{}.Answer(p, a))
	a.By = alice
	_, err = SurveyAnswer{}.Answer(p, a)
	is(t, err, ErrForbidden)
}

func TestParticipantConsentAndErasure(t *testing.T) {
	evs := ok(t)(Participant{}.Register(RegisterParticipant{ParticipantID: "alice", Pseudonym: "Blå Häger 17", Name: "Alice A",
		Email: "alice@example.se", District: "Hyllie", AgeBand: "30-44", Language: "sv", PublishName: true, By: alice}))
	reg := evs[0].(*ParticipantRegistered)
	assert.Equal(t, Personal{Subject: "alice", Plain: "Alice A"}, reg.Name)
	assert.Len(t, PersonalFields(reg), 4)
	p := Fold[Participant](evs)

	_, err := p.ChangeConsent(ChangeConsent{PublishName: false, By: bob})
	is(t, err, ErrForbidden)
	evs = append(evs, ok(t)(p.ChangeConsent(ChangeConsent{PublishName: false, ResearchUse: true, By: alice}))...)
	p = Fold[Participant](evs)
	assert.False(t, p.PublishName)
	assert.True(t, p.ResearchUse)

	evs = append(evs, ok(t)(p.RequestErasure(RequestErasure{RequestID: "e1", Reason: "Jag vill inte synas", Channel: ChannelWeb, By: alice}))...)
	p = Fold[Participant](evs)
	_, err = p.RequestErasure(RequestErasure{RequestID: "e2", Channel: ChannelWeb, By: alice})
	is(t, err, ErrConflict, "still open")
	_, err = p.DecideErasure(DecideErasure{RequestID: "e1", Outcome: ErasureGranted, Basis: "GDPR art. 17", By: official})
	is(t, err, ErrForbidden)
	_, err = p.DecideErasure(DecideErasure{RequestID: "e1", Outcome: ErasureGranted, By: admin})
	is(t, err, ErrInvalid, "basis")
	evs = append(evs, ok(t)(p.DecideErasure(DecideErasure{RequestID: "e1", Outcome: ErasureGranted, Basis: "GDPR art. 17.1", By: admin}))...)
	p = Fold[Participant](evs)
	assert.True(t, p.Erased)
	_, err = p.ChangeConsent(ChangeConsent{PublishName: true, By: alice})
	is(t, err, ErrConflict, "erased")

	// The granted erasure justifies shredding; a shredding is recorded once.
	subj := Fold[Subject](evs)
	shred := RecordShredding{DecisionID: "e1", Scope: ScopeParticipant, SubjectID: "alice", Subjects: []string{"alice", "s1", "alice"}, By: system}
	got := ok(t)(subj.RecordShredding(shred))
	assert.Equal(t, []string{"alice", "s1"}, got[0].(*KeysShredded).Subjects)
	assert.Equal(t, StreamForParticipant("alice"), StreamOf(got[0]))
	_, err = Fold[Subject](append(evs, got...)).RecordShredding(shred)
	is(t, err, ErrConflict, "already recorded")
	shred.DecisionID = "e9"
	_, err = subj.RecordShredding(shred)
	is(t, err, ErrConflict, "e9")
}

func TestDisposal(t *testing.T) {
	w := newWorld(t, ModerationPost, 0)
	dispose := DecideDisposal{DisposalID: "g1", CaseNumber: "STK-2030-15", Scope: ScopeSubmission, SubjectID: "s1",
		LegalBasis: "Dokumenthanteringsplan punkt 7.4", By: admin}
	_, err := Subject{}.DecideDisposal(dispose)
	is(t, err, ErrNotFound)
	c := dispose
	c.CaseNumber = ""
	_, err = Fold[Subject](w.sEvs).DecideDisposal(c)
	is(t, err, ErrInvalid, "case number")
	c.CaseNumber, c.By = "x", modKim
	_, err = Fold[Subject](w.sEvs).DecideDisposal(c)
	is(t, err, ErrForbidden)

	w.apply(t, ok(t)(Fold[Subject](w.sEvs).DecideDisposal(dispose)))
	_, err = Fold[Subject](w.sEvs).DecideDisposal(dispose)
	is(t, err, ErrConflict, "already disposed")
	assert.True(t, w.s.Disposed)
	_, err = w.s.GiveSupport(w.p, GiveSupport{ParticipantID: "bob", By: bob})
	is(t, err, ErrConflict, "disposed")
	_, err = w.s.Decide(hide(1))
	is(t, err, ErrConflict, "disposed")
	ok(t)(Fold[Subject](w.sEvs).RecordShredding(RecordShredding{DecisionID: "g1", Scope: ScopeSubmission, SubjectID: "s1", Subjects: []string{"s1"}, By: admin}))
}

func TestCaseHandling(t *testing.T) {
	w := newWorld(t, ModerationPost, 0)
	fwd := ForwardSubmission{To: "Fritidsförvaltningen", Note: "För yttrande", RespondBy: "2024-11-30", By: official}
	w.apply(t, ok(t)(w.s.Forward(fwd)))
	_, err := w.s.Forward(fwd)
	is(t, err, ErrConflict, "already forwarded")
	fwd.To, fwd.RespondBy = "Gatukontoret", "30/11"
	_, err = w.s.Forward(fwd)
	is(t, err, ErrInvalid, "date")
	fwd.By = modKim
	_, err = w.s.Forward(fwd)
	is(t, err, ErrForbidden)

	resp := PublishResponse{ResponseID: "r1", Body: "Bifalls", ResponsibleBody: "Kommunstyrelsen", DecisionReference: "KS 2024-09-09 §418", Outcome: OutcomeApproved, By: official}
	c := resp
	c.DecisionReference = ""
	_, err = w.s.PublishResponse(c)
	is(t, err, ErrInvalid, "decision reference")
	w.apply(t, ok(t)(w.s.PublishResponse(resp)))
	_, err = w.s.PublishResponse(resp)
	is(t, err, ErrConflict, "already has")
}

func TestTokens(t *testing.T) {
	hash := SupporterSetHash([]string{"not a token"}) // any hex SHA-256
	issue := IssueToken{TokenID: "t1", Name: "Kim", Role: RoleModerator, Hash: hash, By: admin}
	evs := ok(t)(Tokens{}.Issue(issue))
	assert.Equal(t, TokensStream, StreamOf(evs[0]))
	tok := Fold[Tokens](evs)
	_, err := tok.Issue(issue)
	is(t, err, ErrConflict)
	c := issue
	c.TokenID = "t2"
	_, err = tok.Issue(c)
	is(t, err, ErrConflict, "hash")
	for name, mutate := range map[string]func(*IssueToken){
		"participant without id": func(c *IssueToken) { c.Role = RoleParticipant },
		"staff with participant": func(c *IssueToken) { c.Participant = "alice" },
		"system role":            func(c *IssueToken) { c.Role = RoleSystem },
		"not a hash":             func(c *IssueToken) { c.Hash = "secret" },
	} {
		c := issue
		c.TokenID = "t3"
		mutate(&c)
		_, err := tok.Issue(c)
		assert.ErrorIs(t, err, ErrInvalid, name)
	}
	c.By = modKim
	_, err = tok.Issue(c)
	is(t, err, ErrForbidden)

	evs = append(evs, ok(t)(tok.Revoke(RevokeToken{TokenID: "t1", Reason: "slutat", By: admin}))...)
	tok = Fold[Tokens](evs)
	assert.True(t, tok.ByID["t1"].Revoked)
	_, err = tok.Revoke(RevokeToken{TokenID: "t1", By: admin})
	is(t, err, ErrConflict)
	_, err = tok.Revoke(RevokeToken{TokenID: "t9", By: admin})
	is(t, err, ErrNotFound)
}

// TestApplyNeverFails feeds every event type to every state, empty and
// populated, in an order no real stream has; Apply must not panic.
func TestApplyNeverFails(t *testing.T) {
	evs := samples()
	for range 2 {
		var (
			p  Process
			pa Participant
			s  Submission
			c  Comment
			a  SurveyAnswer
			sj Subject
			tk Tokens
		)
		for _, e := range evs {
			p.Apply(e)
			pa.Apply(e)
			s.Apply(e)
			c.Apply(e)
			a.Apply(e)
			sj.Apply(e)
			tk.Apply(e)
		}
		assert.True(t, s.Exists && c.Exists && p.Exists && pa.Exists)
		for i, j := 0, len(evs)-1; i < j; i, j = i+1, j-1 {
			evs[i], evs[j] = evs[j], evs[i]
		}
	}
}

func TestRecordDSASubmission(t *testing.T) {
	good := RecordDSASubmission{SubmissionID: "dsa-1", Endpoint: "https://transparency.dsa.ec.europa.eu/api/v1/statements",
		PUIDs: []string{"d1"}, Outcome: DSAAccepted, Status: 201, Attempts: 1, By: modKim}
	evs := ok(t)(RecordDSASubmissionEvent(good))
	assert.Equal(t, DSASubmissionsStream, StreamOf(evs[0]))
	for name, mutate := range map[string]func(*RecordDSASubmission){
		"no puids":       func(c *RecordDSASubmission) { c.PUIDs = nil },
		"101 puids":      func(c *RecordDSASubmission) { c.PUIDs = make([]string, 101) },
		"blank puid":     func(c *RecordDSASubmission) { c.PUIDs = []string{""} },
		"no endpoint":    func(c *RecordDSASubmission) { c.Endpoint = "" },
		"odd outcome":    func(c *RecordDSASubmission) { c.Outcome = "sent" },
		"no attempt":     func(c *RecordDSASubmission) { c.Attempts = 0 },
		"status 600":     func(c *RecordDSASubmission) { c.Status = 600 },
		"no id":          func(c *RecordDSASubmission) { c.SubmissionID = "" },
		"detail not UTF": func(c *RecordDSASubmission) { c.Detail = "\xff" },
	} {
		c := good
		mutate(&c)
		_, err := RecordDSASubmissionEvent(c)
		assert.ErrorIs(t, err, ErrInvalid, name)
	}
	c := good
	c.By = Actor{ID: "p", Role: RoleParticipant}
	_, err := RecordDSASubmissionEvent(c)
	assert.ErrorIs(t, err, ErrForbidden)
}
