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
	subs, err := k2.Subjects("participant", "7")
	require.NoError(t, err)
	require.Equal(t, []string{"participant-7"}, subs)
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
	key := bytes.Clone(k.v.(*files).keys["participant-42"].Key)
	_, err = k.Seal("participant-43", Labels{"participant": "43"}, "other")
	require.NoError(t, err)

	require.NoError(t, k.Shred("participant-42"))
	require.True(t, k.Shredded("participant-42"))
	_, err = k.Open("participant-42", ct)
	require.ErrorIs(t, err, ErrShredded)
	_, err = k.Seal("participant-42", nil, "again")
	require.ErrorIs(t, err, ErrShredded, "a shredded subject must never get a new key")
	live, err := k.Subjects("participant", "42")
	require.NoError(t, err)
	require.Empty(t, live)
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
	live, err = k2.Subjects("participant", "43")
	require.NoError(t, err)
	require.Equal(t, []string{"participant-43"}, live)
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

// TestMoveKeys moves a node's key files into a shared vault: live keys open
// the old ciphertext there, tombstones become shreddings, a subject with a
// different key in the shared vault stays behind, and no moved key is left
// in the directory.
func TestMoveKeys(t *testing.T) {
	dir := t.TempDir()
	local, err := Open(dir)
	require.NoError(t, err)
	ct, err := local.Seal("participant-1", Labels{"participant": "1"}, "Anna Andersson")
	require.NoError(t, err)
	key := bytes.Clone(local.v.(*files).keys["participant-1"].Key)
	_, err = local.Seal("participant-2", nil, "x")
	require.NoError(t, err)
	require.NoError(t, local.Shred("participant-2"))
	_, err = local.Seal("participant-3", nil, "mine")
	require.NoError(t, err)

	shared, err := Open(t.TempDir())
	require.NoError(t, err)
	_, err = shared.Seal("participant-3", nil, "theirs")
	require.NoError(t, err)

	moved, conflicts, err := MoveKeys(dir, shared.v)
	require.NoError(t, err)
	require.Equal(t, 1, moved)
	require.Equal(t, []string{"participant-3"}, conflicts)
	got, err := shared.Open("participant-1", ct)
	require.NoError(t, err)
	require.Equal(t, "Anna Andersson", got)
	subs, err := shared.Subjects("participant", "1")
	require.NoError(t, err)
	require.Equal(t, []string{"participant-1"}, subs, "labels move with the key")
	require.True(t, shared.Shredded("participant-2"))

	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the conflicting key stays")
	b, err := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	require.NoError(t, err)
	require.False(t, bytes.Contains(b, []byte(base64.StdEncoding.EncodeToString(key))))

	moved, conflicts, err = MoveKeys(dir, shared.v)
	require.NoError(t, err, "moving again is harmless")
	require.Zero(t, moved)
	require.Equal(t, []string{"participant-3"}, conflicts)
	moved, _, err = MoveKeys(filepath.Join(dir, "absent"), shared.v)
	require.NoError(t, err)
	require.Zero(t, moved)
}
