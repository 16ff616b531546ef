package modeltest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/bench"
	"github.com/malmo/participation-ledger/demo"
	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/eventstore/memory"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/privacy"
	"github.com/malmo/participation-ledger/projections"
	"github.com/malmo/participation-ledger/projections/modeltest"
)

var opts = projections.Options{PseudonymKey: []byte("modeltest pseudonym key")}

// demoLog is the small demo history, written through the command service.
func demoLog(t *testing.T) eventstore.Store {
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	keys, err := privacy.Open(t.TempDir())
	require.NoError(t, err)
	_, err = demo.Seed(context.Background(), ledger.New(store, keys), demo.Config{Seed: 7, Size: demo.Small})
	require.NoError(t, err)
	return store
}

// benchLog is n events of the bench's generated log.
func benchLog(t *testing.T, n int) eventstore.Store {
	store := memory.New()
	t.Cleanup(func() { _ = store.Close() })
	g := bench.NewLogGen(1)
	for range n {
		stream, ev := g.Next()
		g.Publish()
		_, err := store.Append(context.Background(), stream, eventstore.Any(), ev)
		require.NoError(t, err)
	}
	return store
}

func TestEveryModelOnTheDemo(t *testing.T) {
	modeltest.Run(t, demoLog(t), nil, opts)
}

func TestEveryModelOnTheBenchLog(t *testing.T) {
	n := 6000 // the first 2020 register processes and participants
	if testing.Short() || raceDetector {
		n = 3000
	}
	modeltest.Run(t, benchLog(t, n), nil, opts)
}

// forgetful is a deliberately broken model: its snapshot form leaves out
// part of its state (the votes), so a runner resumed from its checkpoint
// and an as-of fold from a snapshot both lose what came before.
type forgetful struct {
	st forgetfulState
}

type forgetfulState struct {
	Events int `json:"events"`
	Votes  int `json:"votes"`
}

func (*forgetful) Name() string { return "forgetful" }
func (f *forgetful) Reset()     { f.st = forgetfulState{} }
func (f *forgetful) Apply(_ eventstore.Event, de domain.Event) {
	f.st.Events++
	if _, ok := de.(*domain.SupportGiven); ok {
		f.st.Votes++
	}
}
func (f *forgetful) MarshalJSON() ([]byte, error) { return json.Marshal(f.st) }
func (f *forgetful) UnmarshalJSON(b []byte) error {
	f.Reset()
	var st forgetfulState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	f.st.Events = st.Events // the bug: Votes is not restored
	return nil
}

// recorder is a testing.TB that records failures instead of failing the
// test, so a test can prove that Run fails.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fail()             { r.Errorf("failed") }
func (r *recorder) FailNow()          { r.Fail(); runtime.Goexit() }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.Error(args...); runtime.Goexit() }
func (r *recorder) Failed() bool      { r.mu.Lock(); defer r.mu.Unlock(); return r.failed }

func TestABrokenModelFails(t *testing.T) {
	kinds := []projections.Kind{{Name: "forgetful", New: func(projections.Options) projections.Model { return &forgetful{} }}}
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		modeltest.Run(rec, benchLog(t, 4000), kinds, opts) // past the registrations: supports
	}()
	<-done
	require.True(t, rec.Failed(), "modeltest passed a model that loses state in its snapshots")
	assert.True(t, strings.Contains(strings.Join(rec.msgs, "\n"), "forgetful"), "the failure names the model: %v", rec.msgs)
}
