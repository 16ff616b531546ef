package bench

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPgbenchScriptHasOnlyClientID(t *testing.T) {
	for seed := range uint64(50) {
		s := pgbenchScript(NewGen(seed))
		// pgbench substitutes :name even inside string literals.
		vars := regexp.MustCompile(`:[A-Za-z_][A-Za-z0-9_]*`).FindAllString(s, -1)
		for _, v := range vars {
			require.Equal(t, ":client_id", v, "seed %d: stray pgbench variable in %s", seed, s)
		}
		assert.Len(t, vars, 2)
	}
}

func TestParsePgbenchTPS(t *testing.T) {
	out := []byte(`transaction type: append.sql
scaling factor: 1
query mode: prepared
number of clients: 64
number of threads: 2
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 9172
number of failed transactions: 0 (0.000%)
latency average = 6.851 ms
initial connection time = 91.410 ms
tps = 9341.617263 (without initial connection time)
`)
	tps, err := parsePgbenchTPS(out)
	require.NoError(t, err)
	assert.Equal(t, 9341.617263, tps)

	_, err = parsePgbenchTPS([]byte("number of failed transactions: 12 (0.1%)\ntps = 5.0 (without initial connection time)\n"))
	assert.ErrorContains(t, err, "12 failed")
	_, err = parsePgbenchTPS([]byte("pgbench: error: connection refused\n"))
	assert.Error(t, err)
}
