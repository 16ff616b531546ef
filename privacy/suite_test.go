package privacy_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/privacy/privacytest"
)

// TestFilesSuite: two nodes sharing one key directory (a network file
// system) behave as one key store.
func TestFilesSuite(t *testing.T) {
	privacytest.Run(t, func(t *testing.T) (*privacy.Keys, *privacy.Keys) {
		dir := t.TempDir()
		a, err := privacy.Open(dir)
		require.NoError(t, err)
		b, err := privacy.Open(dir)
		require.NoError(t, err)
		return a, b
	})
}
