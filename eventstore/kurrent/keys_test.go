package kurrent_test

import (
	"encoding/base64"
	"os"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/kurrent"
	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/privacy/privacytest"
)

// twoNodes opens two Stores (two ledger nodes) on url in a fresh namespace
// and returns Keys over each one's vault.
func twoNodes(t *testing.T, url string) (*privacy.Keys, *privacy.Keys) {
	ns := kurrent.WithNamespace("vault-" + uuid.NewString()[:8] + "-")
	a, b := open(t, url, ns), open(t, url, ns)
	t.Cleanup(func() { a.Close(); b.Close() })
	return privacy.New(a.Vault()), privacy.New(b.Vault())
}

// TestVaultSuite: two ledger nodes on one (fake) KurrentDB share their data
// keys, and a shredding on either is in force on both when it returns.
func TestVaultSuite(t *testing.T) {
	privacytest.Run(t, func(t *testing.T) (*privacy.Keys, *privacy.Keys) {
		return twoNodes(t, newFake(t).URL())
	})
}

// TestVaultLive runs the vault suite against a real KurrentDB.
func TestVaultLive(t *testing.T) {
	url := os.Getenv("LEDGER_TEST_KURRENT_URL")
	if url == "" {
		t.Skip("LEDGER_TEST_KURRENT_URL is not set")
	}
	privacytest.Run(t, func(t *testing.T) (*privacy.Keys, *privacy.Keys) { return twoNodes(t, url) })
}

// TestKeysAreNotLedgerEvents interleaves key writes and shreddings with
// ledger appends: the ledger's Positions stay dense and count only ledger
// events, on the writing node and on a node opened afterwards, and no
// ledger event carries a key.
func TestKeysAreNotLedgerEvents(t *testing.T) {
	testKeysAreNotLedgerEvents(t, newFake(t).URL(), "")
}

func TestKeysAreNotLedgerEventsLive(t *testing.T) {
	url := os.Getenv("LEDGER_TEST_KURRENT_URL")
	if url == "" {
		t.Skip("LEDGER_TEST_KURRENT_URL is not set")
	}
	testKeysAreNotLedgerEvents(t, url, "keys-"+uuid.NewString()[:8]+"-")
}

func testKeysAreNotLedgerEvents(t *testing.T, url, ns string) {
	ctx := ctxFor(t)
	st := open(t, url, kurrent.WithNamespace(ns))
	defer st.Close()
	keys := privacy.New(st.Vault())
	var raw [][]byte
	for i := range 10 {
		_, err := st.Append(ctx, "submission-"+string(rune('a'+i)), eventstore.Any(), events(i, 2)...)
		require.NoError(t, err)
		subject := "participant-" + string(rune('a'+i))
		_, err = keys.Seal(subject, privacy.Labels{"participant": subject}, "Namn Namnsson")
		require.NoError(t, err)
		key, err := st.Vault().Key(subject)
		require.NoError(t, err)
		raw = append(raw, key)
		if i%3 == 0 {
			require.NoError(t, keys.Shred(subject))
		}
	}
	head, err := st.Head(ctx)
	require.NoError(t, err)
	require.Equal(t, eventstore.Position(20), head, "20 ledger events; key events and tombstones are not numbered")

	fresh := open(t, url, kurrent.WithNamespace(ns))
	defer fresh.Close()
	for _, s := range []*kurrent.Store{st, fresh} {
		evs := readAll(t, s)
		require.Len(t, evs, 20)
		for i, e := range evs {
			require.Equal(t, eventstore.Position(i+1), e.Position)
			for _, k := range raw {
				require.NotContains(t, string(e.Data), string(k))
				require.NotContains(t, string(e.Data), base64.StdEncoding.EncodeToString(k))
			}
		}
	}
	require.Equal(t, readAll(t, st), readAll(t, fresh))
	// The ledger's API cannot reach the key streams.
	_, err = st.ReadStream(ctx, "keys shredded", eventstore.ReadStreamOptions{Limit: 1})
	require.ErrorIs(t, err, eventstore.ErrInvalid)
}

// TestShredAndScavenge shows what a hard deletion leaves behind: the key is
// unreadable through the stream at once, still present in $all until a
// scavenge, and gone after it; the ledger's Positions do not change.
// Proven against the fake only (the fake's Scavenge models KurrentDB's).
func TestShredAndScavenge(t *testing.T) {
	ctx := ctxFor(t)
	srv := newFake(t)
	st := open(t, srv.URL())
	defer st.Close()
	keys := privacy.New(st.Vault())
	_, err := st.Append(ctx, "process-1", eventstore.NoStream(), events(1, 3)...)
	require.NoError(t, err)
	ct, err := keys.Seal("participant-1", privacy.Labels{"participant": "1"}, "Kristina Nilsson")
	require.NoError(t, err)
	key, err := st.Vault().Key("participant-1")
	require.NoError(t, err)
	stored := []byte(base64.StdEncoding.EncodeToString(key)) // as the key event's JSON holds it
	_, err = st.Append(ctx, "process-1", eventstore.Any(), events(2, 3)...)
	require.NoError(t, err)
	before := readAll(t, st)

	require.NoError(t, keys.Shred("participant-1"))
	_, err = keys.Open("participant-1", ct)
	require.ErrorIs(t, err, privacy.ErrShredded)
	require.True(t, srv.Holds(stored), "before a scavenge the key event is still in $all")

	srv.Scavenge()
	require.False(t, srv.Holds(stored), "a scavenge removes it")
	require.Equal(t, before, readAll(t, st))
	fresh := open(t, srv.URL())
	defer fresh.Close()
	require.Equal(t, before, readAll(t, fresh), "Positions are unchanged by the scavenge")
	_, err = privacy.New(fresh.Vault()).Seal("participant-1", nil, "again")
	require.ErrorIs(t, err, privacy.ErrShredded, "the tombstone outlives the scavenge")
}
