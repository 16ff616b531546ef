package privacy

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSealOpenRoundTripAndBinding(t *testing.T) {
	k, err := Open(t.TempDir())
	require.NoError(t, err)
	ct, err := k.Seal("submission-1", Labels{"process": "p1"}, "Bygg en cykelbro över kanalen")
	require.NoError(t, err)
	require.NotContains(t, string(ct), "cykelbro")

	got, err := k.Open("submission-1", ct)
	require.NoError(t, err)
	require.Equal(t, "Bygg en cykelbro över kanalen", got)

	// Ciphertext is bound to its subject: moved to another subject it does not open.
	_, err = k.Seal("submission-2", nil, "x")
	require.NoError(t, err)
	_, err = k.Open("submission-2", ct)
	require.Error(t, err)

	_, err = k.Open("never", ct)
	require.ErrorIs(t, err, ErrNoKey)

	// Tampering is detected.
	bad := bytes.Clone(ct)
	bad[len(bad)-1] ^= 1
	_, err = k.Open("submission-1", bad)
	require.Error(t, err)
}

func TestKeysSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	k, err := Open(dir)
	require.NoError(t, err)
	ct, err := k.Seal("participant-7", Labels{"participant": "7"}, "anna@example.se")
	require.NoError(t, err)

	k2, err := Open(dir)
	require.NoError(t, err)
	got, err := k2.Open("participant-7", ct)
	require.NoError(t, err)
	require.Equal(t, "anna@example.se", got)
	require.Equal(t, []string{"participant-7"}, k2.Subjects("participant", "7"))
}

// TestShredLeavesNothingRecoverable plants data, shreds its key and then
// searches every byte of the key directory for the plaintext and for the key
// in raw and encoded form.
func TestShredLeavesNothingRecoverable(t *testing.T) {
	dir := t.TempDir()
	k, err := Open(dir)
	require.NoError(t, err)
	const planted = "PLANTED-7f3c-Kristina-Nilsson"
	ct, err := k.Seal("participant-42", Labels{"participant": "42"}, planted)
	require.NoError(t, err)
	key := bytes.Clone(k.keys["participant-42"].Key)
	_, err = k.Seal("participant-43", Labels{"participant": "43"}, "other")
	require.NoError(t, err)

	require.NoError(t, k.Shred("participant-42"))
	require.True(t, k.Shredded("participant-42"))
	_, err = k.Open("participant-42", ct)
	require.ErrorIs(t, err, ErrShredded)
	_, err = k.Seal("participant-42", nil, "again")
	require.ErrorIs(t, err, ErrShredded, "a shredded subject must never get a new key")
	require.Empty(t, k.Subjects("participant", "42"))
	require.NoError(t, k.Shred("participant-42"), "repeated shredding is harmless")

	needles := [][]byte{[]byte(planted), key, []byte(base64.StdEncoding.EncodeToString(key))}
	raw, _ := json.Marshal(key)
	needles = append(needles, bytes.Trim(raw, `"`))
	err = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		if info.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, n := range needles {
			require.False(t, bytes.Contains(b, n), "%s still holds shredded material", p)
		}
		return nil
	})
	require.NoError(t, err)

	// After reopen the tombstone is still honoured and other keys still work.
	k2, err := Open(dir)
	require.NoError(t, err)
	_, err = k2.Open("participant-42", ct)
	require.ErrorIs(t, err, ErrShredded)
	require.Equal(t, []string{"participant-43"}, k2.Subjects("participant", "43"))
}

func TestInterruptedWriteIsIgnored(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "abc.key.tmp"), []byte("{partial"), 0o600))
	_, err := Open(dir)
	require.NoError(t, err)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		require.False(t, strings.HasSuffix(e.Name(), ".tmp"))
	}
}

// TestSharedDirectory: two ledger nodes sharing one key directory see each
// other's keys and shredding, and never make two keys for one subject.
func TestSharedDirectory(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir)
	require.NoError(t, err)
	b, err := Open(dir)
	require.NoError(t, err)

	ct, err := a.Seal("submission-9", nil, "Fler parkbänkar i Pildammsparken")
	require.NoError(t, err)
	got, err := b.Open("submission-9", ct)
	require.NoError(t, err, "a key made by one node opens on the other")
	require.Equal(t, "Fler parkbänkar i Pildammsparken", got)

	// Both race to make the same subject's key: one wins, both use it.
	var cts [2][]byte
	done := make(chan struct{})
	go func() { cts[0], _ = a.Seal("comment-1", nil, "från a"); close(done) }()
	cts[1], err = b.Seal("comment-1", nil, "från b")
	require.NoError(t, err)
	<-done
	for _, k := range []*Keys{a, b} {
		p0, err := k.Open("comment-1", cts[0])
		require.NoError(t, err)
		p1, err := k.Open("comment-1", cts[1])
		require.NoError(t, err)
		require.Equal(t, []string{"från a", "från b"}, []string{p0, p1})
	}

	require.NoError(t, b.Shred("submission-9"))
	_, err = a.Open("submission-9", ct)
	require.ErrorIs(t, err, ErrShredded, "shredding on one node takes effect on the other")
	_, err = a.Seal("submission-9", nil, "again")
	require.ErrorIs(t, err, ErrShredded)
}
