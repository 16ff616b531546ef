// Package privacytest is the suite every privacy.Vault runs: Keys on two
// ledger nodes sharing one vault behave as one key store, and a shredding on
// either node takes effect on both before it returns.
package privacytest

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/privacy"
)

// Run runs the suite. open returns Keys of two nodes over one fresh vault.
func Run(t *testing.T, open func(t *testing.T) (a, b *privacy.Keys)) {
	t.Run("SealOpenBinding", func(t *testing.T) {
		a, _ := open(t)
		ct, err := a.Seal("submission-1", privacy.Labels{"process": "p1"}, "Bygg en cykelbro över kanalen")
		require.NoError(t, err)
		require.NotContains(t, string(ct), "cykelbro")
		got, err := a.Open("submission-1", ct)
		require.NoError(t, err)
		require.Equal(t, "Bygg en cykelbro över kanalen", got)

		// Ciphertext is bound to its subject.
		_, err = a.Seal("submission-2", nil, "x")
		require.NoError(t, err)
		_, err = a.Open("submission-2", ct)
		require.Error(t, err)
		_, err = a.Open("never", ct)
		require.ErrorIs(t, err, privacy.ErrNoKey)
		bad := bytes.Clone(ct)
		bad[len(bad)-1] ^= 1
		_, err = a.Open("submission-1", bad)
		require.Error(t, err, "tampering is detected")
	})

	t.Run("SharedAcrossNodes", func(t *testing.T) {
		a, b := open(t)
		ct, err := a.Seal("submission-9", nil, "Fler parkbänkar i Pildammsparken")
		require.NoError(t, err)
		got, err := b.Open("submission-9", ct)
		require.NoError(t, err, "a key made on one node opens on the other")
		require.Equal(t, "Fler parkbänkar i Pildammsparken", got)
		// b seals more for the same subject with the same key.
		ct2, err := b.Seal("submission-9", nil, "och en till")
		require.NoError(t, err)
		got, err = a.Open("submission-9", ct2)
		require.NoError(t, err)
		require.Equal(t, "och en till", got)
	})

	t.Run("RaceMakesOneKey", func(t *testing.T) {
		a, b := open(t)
		for i := range 5 {
			subject := fmt.Sprint("comment-", i)
			var cts [2][]byte
			var errs [2]error
			var wg sync.WaitGroup
			for j, k := range []*privacy.Keys{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cts[j], errs[j] = k.Seal(subject, nil, fmt.Sprint("från ", j))
				}()
			}
			wg.Wait()
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			for _, k := range []*privacy.Keys{a, b} {
				for j := range 2 {
					p, err := k.Open(subject, cts[j])
					require.NoError(t, err, "both nodes use the one key that won")
					require.Equal(t, fmt.Sprint("från ", j), p)
				}
			}
		}
	})

	t.Run("ShredTakesEffectEverywhere", func(t *testing.T) {
		a, b := open(t)
		ct, err := a.Seal("participant-42", privacy.Labels{"participant": "42"}, "Kristina Nilsson")
		require.NoError(t, err)
		_, err = a.Seal("participant-43", privacy.Labels{"participant": "43"}, "Other")
		require.NoError(t, err)
		// Both nodes have used the key (and may cache it).
		for _, k := range []*privacy.Keys{a, b} {
			got, err := k.Open("participant-42", ct)
			require.NoError(t, err)
			require.Equal(t, "Kristina Nilsson", got)
		}

		require.NoError(t, b.Shred("participant-42"))
		for _, k := range []*privacy.Keys{a, b} {
			_, err = k.Open("participant-42", ct)
			require.ErrorIs(t, err, privacy.ErrShredded, "the moment Shred returns, on both nodes")
			require.True(t, k.Shredded("participant-42"))
			_, err = k.Seal("participant-42", nil, "again")
			require.ErrorIs(t, err, privacy.ErrShredded, "a shredded subject never gets a new key")
		}
		require.NoError(t, a.Shred("participant-42"), "repeated shredding is harmless")
		got, err := a.Open("participant-43", mustSeal(t, b, "participant-43", "still here"))
		require.NoError(t, err)
		require.Equal(t, "still here", got)

		// A subject shredded before it had a key never gets one.
		require.NoError(t, a.Shred("participant-44", "participant-45"))
		for _, k := range []*privacy.Keys{a, b} {
			_, err = k.Seal("participant-44", nil, "x")
			require.ErrorIs(t, err, privacy.ErrShredded)
			require.True(t, k.Shredded("participant-45"))
		}
	})

	t.Run("Subjects", func(t *testing.T) {
		a, b := open(t)
		mustSealLabelled(t, a, "participant-7", privacy.Labels{"participant": "7"})
		mustSealLabelled(t, a, "submission-70", privacy.Labels{"participant": "7", "process": "p7"})
		mustSealLabelled(t, b, "comment-71", privacy.Labels{"participant": "7", "process": "p8"})
		mustSealLabelled(t, b, "comment-80", privacy.Labels{"participant": "8", "process": "p7"})
		for _, k := range []*privacy.Keys{a, b} {
			got, err := k.Subjects("participant", "7")
			require.NoError(t, err)
			require.Equal(t, []string{"comment-71", "participant-7", "submission-70"}, got)
			got, err = k.Subjects("process", "p7")
			require.NoError(t, err)
			require.Equal(t, []string{"comment-80", "submission-70"}, got)
		}
		require.NoError(t, a.Shred("submission-70"))
		for _, k := range []*privacy.Keys{a, b} {
			got, err := k.Subjects("participant", "7")
			require.NoError(t, err)
			require.Equal(t, []string{"comment-71", "participant-7"}, got, "shredded subjects are not listed")
		}
	})
}

func mustSeal(t *testing.T, k *privacy.Keys, subject, text string) []byte {
	t.Helper()
	ct, err := k.Seal(subject, nil, text)
	require.NoError(t, err)
	return ct
}

func mustSealLabelled(t *testing.T, k *privacy.Keys, subject string, labels privacy.Labels) {
	t.Helper()
	_, err := k.Seal(subject, labels, "x")
	require.NoError(t, err)
}
