package integrity

import (
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"
)

// The RFC 6962 test vectors of the Certificate Transparency reference
// implementation (also transparency-dev/merkle's testonly package): eight
// leaves, the root of each prefix, and some audit and consistency paths.
var (
	ctLeaves = [][]byte{
		{},
		{0x00},
		{0x10},
		{0x20, 0x21},
		{0x30, 0x31},
		{0x40, 0x41, 0x42, 0x43},
		{0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57},
		{0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f},
	}
	ctRoots = []string{ // by tree size 0..8
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	}
	ctInclusion = []struct {
		index, size int64
		path        []string
	}{
		{0, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{5, 8, []string{
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
	}
	ctConsistency = []struct {
		from, to int64
		path     []string
	}{
		{1, 8, []string{
			"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
		}},
		{6, 8, []string{
			"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
			"ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
			"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		}},
		{2, 5, []string{
			"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
			"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
		}},
	}
)

func hexes(t *testing.T, hs []tlog.Hash) []string {
	t.Helper()
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

// ctHashFile stores the reference leaves the way the log stores events.
func ctHashFile(t *testing.T) *hashFile {
	t.Helper()
	hf, err := openHashFile(filepath.Join(t.TempDir(), "hashes"))
	require.NoError(t, err)
	t.Cleanup(func() { hf.close() })
	for _, leaf := range ctLeaves {
		require.NoError(t, hf.add(tlog.RecordHash(leaf)))
	}
	return hf
}

func TestRFC6962Roots(t *testing.T) {
	hf := ctHashFile(t)
	var mt memTree
	for size := int64(0); size <= int64(len(ctLeaves)); size++ {
		root, err := tlog.TreeHash(size, hf)
		require.NoError(t, err)
		assert.Equal(t, ctRoots[size], hex.EncodeToString(root[:]), "root of size %d from the hash file", size)

		// The verifier's right-edge tree must agree at every size.
		mroot, err := tlog.TreeHash(size, &mt)
		require.NoError(t, err)
		assert.Equal(t, ctRoots[size], hex.EncodeToString(mroot[:]), "root of size %d from memTree", size)
		if size < int64(len(ctLeaves)) {
			require.NoError(t, mt.add(tlog.RecordHash(ctLeaves[size])))
		}
	}
	require.NoError(t, hf.flush()) // the same answers from disk as from the pending buffer
	root, err := tlog.TreeHash(8, hf)
	require.NoError(t, err)
	assert.Equal(t, ctRoots[8], hex.EncodeToString(root[:]))
}

func TestRFC6962Proofs(t *testing.T) {
	hf := ctHashFile(t)
	require.NoError(t, hf.flush())
	for _, v := range ctInclusion {
		p, err := tlog.ProveRecord(v.size, v.index, hf)
		require.NoError(t, err)
		assert.Equal(t, v.path, hexes(t, p), "audit path of leaf %d in size %d", v.index, v.size)
	}
	for _, v := range ctConsistency {
		p, err := tlog.ProveTree(v.to, v.from, hf)
		require.NoError(t, err)
		assert.Equal(t, v.path, hexes(t, p), "consistency %d→%d", v.from, v.to)
	}
}

func TestTornHashFileIsCutToWholeLeaves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hashes")
	hf, err := openHashFile(path)
	require.NoError(t, err)
	for _, leaf := range ctLeaves {
		require.NoError(t, hf.add(tlog.RecordHash(leaf)))
	}
	require.NoError(t, hf.close())

	// Leaf 7 (index 7) wrote 4 hashes (itself and three subtree roots);
	// keep only two of them and half of a third.
	full := tlog.StoredHashCount(8)
	require.NoError(t, truncateFile(path, (full-2)*tlog.HashSize+16))

	hf, err = openHashFile(path)
	require.NoError(t, err)
	defer hf.close()
	assert.Equal(t, int64(7), hf.n, "the torn leaf is dropped")
	size, err := fileSize(path)
	require.NoError(t, err)
	assert.Equal(t, tlog.StoredHashCount(7)*tlog.HashSize, size)

	require.NoError(t, hf.add(tlog.RecordHash(ctLeaves[7])))
	root, err := tlog.TreeHash(8, hf)
	require.NoError(t, err)
	assert.Equal(t, ctRoots[8], hex.EncodeToString(root[:]), "re-adding the leaf restores the tree")
}
