package embedded_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/eventstore/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t testing.TB, dir string) eventstore.Store {
			s, err := embedded.Open(dir)
			require.NoError(t, err)
			return s
		},
		Durable: true,
	})
}
