package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatusAndMetrics(t *testing.T) {
	status := []byte("Name:\tledger\nVmPeak:\t 2000 kB\nVmHWM:\t  348160 kB\nVmRSS:\t  300000 kB\n")
	hwm, err := parseStatusKB(status, "VmHWM")
	require.NoError(t, err)
	assert.Equal(t, int64(348160)<<10, hwm)
	_, err = parseStatusKB(status, "VmSwap")
	assert.Error(t, err)

	metrics := []byte("# HELP ledger_projection_position x\nledger_projection_position 1e+06\nledger_projection_position_other 5\nledger_integrity_checkpoint_size 999999\n")
	assert.True(t, metricAtLeast(metrics, "ledger_projection_position", 1_000_000))
	assert.False(t, metricAtLeast(metrics, "ledger_integrity_checkpoint_size", 1_000_000))
	assert.False(t, metricAtLeast(metrics, "ledger_missing", 1))

	assert.Equal(t, 99.0, percentile([]float64{1, 2, 3, 99}, 0.99))
	assert.Equal(t, 2.0, percentile([]float64{1, 2, 3, 99}, 0.5))
}
