package dsa_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/dsa"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

// v1Decision is a ModerationDecided as version 1 stored it.
func v1Decision(id, item, category string) []byte {
	return []byte(`{"decision_id":"` + id + `","item_id":"` + item + `","item_kind":"submission","content_version":1,` +
		`"visibility":"content_disabled","ground":"incompatible_content","legal_ground":"","policy_clause":"4.4 Dialogens ämne",` +
		`"category":"` + category + `","explanation":"Inlägget rör inte dialogens fråga.","automated_detection":false,` +
		`"automated_decision":"automated_decision_not_automated","source":"source_voluntary","flag_ids":[],` +
		`"moderator":"moderator-kim","decided_at":"2024-05-06T10:00:00Z"}`)
}

// TestExistingLedgerReadsVersion1AsVersion2 writes version-1 decisions into
// an embedded store as an older build did, reopens it, and reads them back:
// the stored bytes and Merkle leaves are unchanged, every reader gets
// version 2 through the upcaster, and the DSA export maps the retired
// categories (or holds back the one without a replacement).
func TestExistingLedgerReadsVersion1AsVersion2(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	store, err := embedded.Open(dir)
	require.NoError(t, err)
	svc := ledger.New(store, keys)
	proc := "p1"
	_, err = svc.OpenProcess(ctx, domain.Actor{ID: "official-anna", Role: domain.RoleOfficial}, ledger.Request[domain.OpenProcess]{
		IdempotencyKey: "open", Command: domain.OpenProcess{ProcessID: proc, Title: domain.Text{Sv: "Parken", En: "The park"},
			Kind: domain.KindProposal, OwnerBody: "Kommunstyrelsen", CaseNumber: "KS-2024-1", ModerationMode: domain.ModerationPost,
			Phases: []domain.Phase{{Name: "förslag", StartsAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
				Accepts: []domain.ContributionKind{domain.AcceptsSubmissions}}},
			PolicyReference: "Riktlinjer 2024"}})
	require.NoError(t, err)
	posted := time.Date(2024, 5, 2, 18, 30, 0, 0, time.UTC)
	var subs []string
	for i := range 3 {
		res, err := svc.ReceiveSubmission(ctx, domain.Actor{ID: "intake-bo", Role: domain.RoleIntake}, proc,
			ledger.Request[domain.ReceiveSubmission]{IdempotencyKey: "sub" + string(rune('a'+i)), OccurredAt: posted,
				Command: domain.ReceiveSubmission{Author: "resident-" + string(rune('a'+i)), Channel: domain.ChannelPaper,
					Language: "sv", Title: "Skatten", Body: "Sänk skatten."}})
		require.NoError(t, err)
		subs = append(subs, res.ID)
	}
	categories := []string{"scope_of_platform_service", "unsafe_and_illegal_products", "non_consensual_behaviour"}
	stored := map[string][]byte{}
	leaves := map[eventstore.Position]tlog.Hash{}
	for i, sub := range subs {
		data := v1Decision("d-v1-"+string(rune('a'+i)), sub, categories[i])
		res, err := store.Append(ctx, domain.StreamForSubmission(sub), eventstore.StreamExists(), eventstore.EventData{
			ID: uuid.New(), Type: "ModerationDecided", Version: 1, Data: data,
			Metadata: eventstore.Metadata{Actor: "moderator-kim", Role: "moderator"}})
		require.NoError(t, err)
		stored[sub] = data
		leaves[res.Last().Position] = tlog.RecordHash(eventstore.Canonical(res.Last()))
	}
	require.NoError(t, store.Close())

	store, err = embedded.Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	svc = ledger.New(store, keys)
	want := map[string]struct{ category, retired domain.Category }{
		subs[0]: {domain.CategoryOtherViolationTC, "scope_of_platform_service"},
		subs[1]: {domain.CategoryUnsafeProducts, "unsafe_and_illegal_products"},
		subs[2]: {domain.CategoryNeedsReview, "non_consensual_behaviour"},
	}
	for _, sub := range subs {
		evs, err := store.ReadStream(ctx, domain.StreamForSubmission(sub), eventstore.ReadStreamOptions{Direction: eventstore.Backwards, From: eventstore.End, Limit: 1})
		require.NoError(t, err)
		e := evs[0]
		assert.Equal(t, 1, e.Version, "still version 1 in the store")
		assert.Equal(t, stored[sub], e.Data, "stored bytes unchanged")
		assert.Equal(t, leaves[e.Position], tlog.RecordHash(eventstore.Canonical(e)), "Merkle leaf unchanged")
		de, err := domain.Decode(e.Type, e.Version, e.Data)
		require.NoError(t, err)
		d := de.(*domain.ModerationDecided)
		assert.Equal(t, want[sub].category, d.Category)
		assert.Equal(t, want[sub].retired, d.RetiredCategory)
		assert.Equal(t, []domain.ContentType{domain.ContentText}, d.ContentType)
		assert.Equal(t, d.Explanation, d.GroundExplanation, "version 1 had one explanation for both")
	}

	// The domain decides on the upcast state: the author may appeal.
	_, err = svc.FileAppeal(ctx, domain.Actor{ID: "intake-bo", Role: domain.RoleIntake}, domain.ItemSubmission, subs[0],
		ledger.Request[domain.FileAppeal]{IdempotencyKey: "appeal", Command: domain.FileAppeal{DecisionID: "d-v1-a",
			Grounds: "Det rör dialogen.", OnBehalfOf: "resident-a", At: time.Date(2024, 5, 8, 9, 0, 0, 0, time.UTC)}})
	require.NoError(t, err)

	res, err := dsa.Collect(ctx, store, 0)
	require.NoError(t, err)
	assert.Equal(t, 3, res.Restrictions)
	require.Len(t, res.Statements, 2)
	assert.Equal(t, "STATEMENT_CATEGORY_OTHER_VIOLATION_TC", res.Statements[0].Category)
	assert.Equal(t, "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS", res.Statements[1].Category)
	assert.Equal(t, "2024-05-02", res.Statements[0].ContentDate, "version 1 has no content date: the posting's occurred-at")
	assert.Equal(t, "SV", res.Statements[0].ContentLanguage)
	require.Len(t, res.HeldBack, 1)
	assert.Equal(t, "d-v1-c", res.HeldBack[0].PUID)
	assert.Equal(t, []string{"category"}, res.HeldBack[0].Errors.Fields(), "needs review is never sent")
}
