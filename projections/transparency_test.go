package projections

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

// transparencyFixture writes notices, decisions and appeals with known
// occurred-at times; the expected reports below are computed by hand.
//
//	notice  item  source       at            decision  at        visibility  ground        automated  seconds
//	n1      sA1   participant  T0            d1 (n1,n4) T0+2h    disabled    incompatible  no         7200
//	n4      sA1   participant  T0+30m
//	n2      sA2   automated    T0+10m        d2 (n2)   T0+15m    disabled    illegal       fully      300
//	n3      sA3   staff        T0+1h         d3 (n3)   T0+2h     no_action   -             no         3600
//	n5      sB1   participant  T0            d4 (n5)   T0+24h    labelled    incompatible  partially  86400
//
//	appeal  on  filed    outcome
//	a1      d2  T0+1h    overturned (T0+3h)
//	a2      d1  T0+3h    upheld (T0+5h)
//	a3      d4  T0+48h   pending
//
// pA (sA*) is owned by Kommunstyrelsen, pB (sB1) by Tekniska nämnden.
func transparencyFixture(t *testing.T) (*ledger, time.Time) {
	l := newLedger(t)
	t0 := time.Date(2024, 3, 4, 9, 0, 0, 0, time.UTC)
	openProcess(l, "pA", "Kommunstyrelsen", 0, domain.ModerationPost)
	openProcess(l, "pB", "Tekniska nämnden", 0, domain.ModerationPost)
	for _, s := range []struct{ id, p string }{{"sA1", "pA"}, {"sA2", "pA"}, {"sA3", "pA"}, {"sB1", "pB"}} {
		submit(l, s.id, s.p, "u1", domain.ChannelWeb, false)
	}
	notice := func(id, item string, src domain.FlagSource, at time.Time) {
		f := &domain.ContentFlagged{FlagID: id, ItemID: item, ItemKind: domain.ItemSubmission, ContentVersion: 1,
			Source: src, FlaggedBy: "x", Category: domain.CategoryIllegalOrHarmfulSpeech}
		if src == domain.FlagByAutomated {
			f.Classifier = &domain.Classifier{Name: "toxicity", Version: "1", Score: 0.9}
		}
		l.add("x", domain.RoleParticipant, f, at)
	}
	dec := func(id, item string, vis domain.Visibility, ground domain.Ground, cat domain.Category,
		auto domain.AutomatedDecision, detect bool, src domain.DecisionSource, flags []string, at time.Time) {
		l.add("moderator-karin", domain.RoleModerator, &domain.ModerationDecided{DecisionID: id, ItemID: item,
			ItemKind: domain.ItemSubmission, ContentVersion: 1, Visibility: vis, Ground: ground, Category: cat,
			PolicyClause: "4.2", Explanation: "x", AutomatedDetection: detect, AutomatedDecision: auto, Source: src,
			FlagIDs: flags, Moderator: "moderator-karin"}, at)
	}
	appeal := func(id, d, item string, at time.Time) {
		l.add("u1", domain.RoleParticipant, &domain.AppealFiled{AppealID: id, DecisionID: d, ItemID: item,
			ItemKind: domain.ItemSubmission, By: "u1"}, at)
	}
	appealDecided := func(id, d, item, outcome string, at time.Time) {
		l.add("moderator-lars", domain.RoleModerator, &domain.AppealDecided{AppealID: id, DecisionID: d, ItemID: item,
			ItemKind: domain.ItemSubmission, Outcome: outcome, Moderator: "moderator-lars"}, at)
	}
	h := time.Hour
	notice("n1", "sA1", domain.FlagByParticipant, t0)
	notice("n5", "sB1", domain.FlagByParticipant, t0)
	notice("n2", "sA2", domain.FlagByAutomated, t0.Add(10*time.Minute))
	dec("d2", "sA2", domain.VisibilityDisabled, domain.GroundIllegal, domain.CategoryIllegalOrHarmfulSpeech,
		domain.AutomatedFully, true, domain.SourceOwnInitiative, []string{"n2"}, t0.Add(15*time.Minute))
	notice("n4", "sA1", domain.FlagByParticipant, t0.Add(30*time.Minute))
	notice("n3", "sA3", domain.FlagByStaff, t0.Add(h))
	appeal("a1", "d2", "sA2", t0.Add(h))
	dec("d1", "sA1", domain.VisibilityDisabled, domain.GroundIncompatible, domain.CategoryIllegalOrHarmfulSpeech,
		domain.AutomatedNot, false, domain.SourceParticipantNotice, []string{"n1", "n4"}, t0.Add(2*h))
	dec("d3", "sA3", domain.VisibilityNoAction, "", "", domain.AutomatedNot, false, domain.SourceStaffNotice,
		[]string{"n3"}, t0.Add(2*h))
	appealDecided("a1", "d2", "sA2", domain.AppealOverturned, t0.Add(3*h))
	appeal("a2", "d1", "sA1", t0.Add(3*h))
	appealDecided("a2", "d1", "sA1", domain.AppealUpheld, t0.Add(5*h))
	dec("d4", "sB1", domain.VisibilityLabelled, domain.GroundIncompatible, domain.CategoryOtherViolationTC,
		domain.AutomatedPartially, false, domain.SourceParticipantNotice, []string{"n5"}, t0.Add(24*h))
	appeal("a3", "d4", "sB1", t0.Add(48*h))
	return l, t0
}

func TestTransparencyReportAgainstHandComputedFixture(t *testing.T) {
	l, t0 := transparencyFixture(t)
	tr := NewTransparency()
	foldAll(t, l.s, tr)

	all := tr.Report(ReportQuery{})
	assert.Equal(t, Report{
		Query:           ReportQuery{},
		Notices:         5,
		NoticesBySource: map[string]int{"participant": 3, "automated": 1, "staff": 1},
		Decisions:       4,
		Restrictions:    3,
		ByVisibility:    map[string]int{"content_disabled": 2, "no_action": 1, "content_labelled": 1},
		ByGround:        map[string]int{"incompatible_content": 2, "illegal_content": 1},
		ByCategory:      map[string]int{"illegal_or_harmful_speech": 2, "other_violation_tc": 1},
		BySource:        map[string]int{"source_article_16": 2, "source_voluntary": 1, "source_type_other_notification": 1},
		Automated:       2, AutomatedShare: 0.5, AutomatedDetection: 1,
		// [300 3600 7200 86400]: median rank ceil(2)=2, p90 rank ceil(3.6)=4.
		TimeToDecision: Durations{Count: 4, MedianSeconds: 3600, P90Seconds: 86400},
		AppealsFiled:   3, AppealsUpheld: 1, AppealsOverturned: 1, AppealsPending: 1,
		AutomatedOverturned: 1, AutomatedOverturnRate: 0.5,
	}, all)

	ks := tr.Report(ReportQuery{Body: "Kommunstyrelsen"})
	assert.Equal(t, 4, ks.Notices)
	assert.Equal(t, 3, ks.Decisions)
	assert.Equal(t, 2, ks.Restrictions)
	assert.Equal(t, 1, ks.Automated)
	assert.InDelta(t, 1.0/3, ks.AutomatedShare, 1e-12)
	// [300 3600 7200]: median rank 2, p90 rank ceil(2.7)=3.
	assert.Equal(t, Durations{Count: 3, MedianSeconds: 3600, P90Seconds: 7200}, ks.TimeToDecision)
	assert.Equal(t, 2, ks.AppealsFiled)
	assert.Equal(t, 1.0, ks.AutomatedOverturnRate)
	assert.Equal(t, ks, tr.Report(ReportQuery{ProcessID: "pA"}).withQuery(ks.Query))

	// Period [T0+1h, T0+24h): n3; d1, d3 (d4 at T0+24h is outside); a1, a2.
	per := tr.Report(ReportQuery{From: t0.Add(time.Hour), To: t0.Add(24 * time.Hour)})
	assert.Equal(t, 1, per.Notices)
	assert.Equal(t, map[string]int{"staff": 1}, per.NoticesBySource)
	assert.Equal(t, 2, per.Decisions)
	assert.Equal(t, 0, per.Automated)
	assert.Equal(t, 0.0, per.AutomatedOverturnRate)
	assert.Equal(t, Durations{Count: 2, MedianSeconds: 3600, P90Seconds: 7200}, per.TimeToDecision)
	assert.Equal(t, 2, per.AppealsFiled)

	csv, err := all.CSV()
	require.NoError(t, err)
	for _, line := range []string{"metric,key,value", "notices,,5", "notices_by_source,automated,1",
		"decisions_by_ground,illegal_content,1", "time_from_notice_to_decision_p90_seconds,,86400",
		"automated_overturn_rate,,0.5", "appeals_pending,,1"} {
		assert.Contains(t, strings.Split(string(csv), "\n"), line)
	}
	js, err := all.JSON()
	require.NoError(t, err)
	assert.Contains(t, string(js), `"median_seconds": 3600`)
}

func (r Report) withQuery(q ReportQuery) Report { r.Query = q; return r }

// TestTransparencyShowsNoRetiredCategory: version-1 decisions with
// categories the DSA Transparency Database retired are counted under the
// current vocabulary, whether they are read through the upcaster or come
// from state saved before it existed.
func TestTransparencyShowsNoRetiredCategory(t *testing.T) {
	l := newLedger(t)
	openProcess(l, "pA", "Kommunstyrelsen", 0, domain.ModerationPost)
	at := time.Date(2024, 5, 6, 10, 0, 0, 0, time.UTC)
	for i, cat := range []string{"scope_of_platform_service", "unsafe_and_illegal_products", "non_consensual_behaviour", "violence"} {
		item := fmt.Sprintf("s%d", i)
		submit(l, item, "pA", "u1", domain.ChannelWeb, false)
		v1 := `{"decision_id":"d` + item + `","item_id":"` + item + `","item_kind":"submission","content_version":1,` +
			`"visibility":"content_disabled","ground":"incompatible_content","legal_ground":"","policy_clause":"4.2",` +
			`"category":"` + cat + `","explanation":"x","automated_detection":false,` +
			`"automated_decision":"automated_decision_not_automated","source":"source_voluntary","flag_ids":[],` +
			`"moderator":"m","decided_at":"2024-05-06T10:00:00Z"}`
		_, err := l.s.Append(context.Background(), domain.StreamForSubmission(item), eventstore.Any(),
			eventstore.EventData{ID: uuid.New(), Type: "ModerationDecided", Version: 1, Data: []byte(v1),
				Metadata: eventstore.Metadata{Actor: "m", Role: "moderator", OccurredAt: at}})
		require.NoError(t, err)
	}
	tr := NewTransparency()
	foldAll(t, l.s, tr)
	want := map[string]int{"other_violation_tc": 1, "unsafe_and_prohibited_products": 1, "needs_review": 1, "violence": 1}
	assert.Equal(t, want, tr.Report(ReportQuery{}).ByCategory)

	// State saved by an older build still holds the recorded values.
	for _, d := range tr.st.Decisions {
		d.Category = "scope_of_platform_service"
	}
	assert.Equal(t, map[string]int{"other_violation_tc": 4}, tr.Report(ReportQuery{}).ByCategory)
}
