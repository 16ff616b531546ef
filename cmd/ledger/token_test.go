package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
)

func TestTokenCreate(t *testing.T) {
	dir := t.TempDir()
	getenv := func(string) string { return "" }
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"token", "create", "--data", dir, "--role", "admin", "--name", "root"}, getenv, &out, &errOut)
	require.NoError(t, err, errOut.String())
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	token := lines[len(lines)-1]
	assert.Len(t, token, 43, "the token alone on the last line")

	store, err := embedded.Open(filepath.Join(dir, "store"))
	require.NoError(t, err)
	defer store.Close()
	keys, err := privacy.Open(filepath.Join(dir, "keys"))
	require.NoError(t, err)
	p, err := ledger.New(store, keys).Authenticate(context.Background(), token)
	require.NoError(t, err)
	assert.Equal(t, domain.RoleAdmin, p.Role)
	assert.Equal(t, "root", p.Name)
	require.NoError(t, store.Close())

	err = run(context.Background(), []string{"token", "create", "--data", dir, "--role", "participant", "--name", "x"}, getenv, &out, &errOut)
	assert.Error(t, err, "a participant token needs --participant")
	err = run(context.Background(), []string{"token", "create", "--data", dir, "--role", "wizard", "--name", "x"}, getenv, &out, &errOut)
	assert.ErrorIs(t, err, errUsage, "a usage error that lists the roles (cli_test.go)")
}
