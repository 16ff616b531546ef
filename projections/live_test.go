package projections

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
)

type sseEvent struct {
	id   uint64
	name string
	n    Notification
}

// sseClient reads Server-Sent Events from a real loopback connection.
type sseClient struct {
	t      *testing.T
	cancel context.CancelFunc
	resp   *http.Response
	sc     *bufio.Scanner
}

func dialSSE(t *testing.T, url, lastEventID string) *sseClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	c := &sseClient{t: t, cancel: cancel, resp: resp, sc: bufio.NewScanner(resp.Body)}
	// The server writes "retry:" once it has fixed its starting position.
	require.True(t, c.sc.Scan())
	require.Equal(t, "retry: 2000", c.sc.Text())
	t.Cleanup(c.close)
	return c
}

func (c *sseClient) close() { c.cancel(); c.resp.Body.Close() }

// next returns the next event, skipping comments.
func (c *sseClient) next() sseEvent {
	c.t.Helper()
	var e sseEvent
	for c.sc.Scan() {
		line := c.sc.Text()
		switch {
		case line == "":
			if e.id != 0 {
				return e
			}
		case strings.HasPrefix(line, "id: "):
			id, err := strconv.ParseUint(strings.TrimPrefix(line, "id: "), 10, 64)
			require.NoError(c.t, err)
			e.id = id
		case strings.HasPrefix(line, "event: "):
			e.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			require.NoError(c.t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &e.n))
		}
	}
	c.t.Fatalf("stream ended: %v", c.sc.Err())
	return e
}

func TestSSEResumesWithLastEventIDWithoutLoss(t *testing.T) {
	l := newLedger(t)
	seed(l)
	r, err := NewRunner(l.s, Config{}, allModels()...)
	require.NoError(t, err)
	start(t, r)
	waitFor(t, r, l.head())

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := r.Hub().ServeSSE(w, req, nil); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
		}
	}))
	t.Cleanup(srv.Close) // after the clients' cleanups: Close waits for open streams

	// First connection: replay from the start, drop after 10 events.
	var got []uint64
	c := dialSSE(t, srv.URL, "0")
	for range 10 {
		got = append(got, c.next().id)
	}
	c.close()

	// Events appended while the client is away.
	transparencyMore(l)
	head := l.head()

	c = dialSSE(t, srv.URL, strconv.FormatUint(got[len(got)-1], 10))
	var decided Notification
	for got[len(got)-1] < uint64(head) {
		e := c.next()
		assert.Equal(t, "change", e.name)
		assert.Equal(t, e.id, uint64(e.n.Position))
		if e.n.EventType == "ModerationDecided" && e.n.ItemID == "c1" {
			decided = e.n
		}
		got = append(got, e.id)
	}
	for i, id := range got {
		require.Equal(t, uint64(i+1), id, "ids are 1..head without gaps or repeats")
	}
	assert.Equal(t, "p1", decided.ProcessID, "the index names the process of a decision")
	assert.Equal(t, "comment", decided.ItemKind)
	assert.Contains(t, decided.Models, NameSubmissions)
	assert.Contains(t, decided.Models, NameTransparency)
	assert.Contains(t, decided.Models, NameActors)

	// Live: a new append arrives on the open connection.
	l.add("official-anna", domain.RoleOfficial, &domain.ProcessPhaseChanged{ProcessID: "p2", From: "förslag", To: "beslut", ChangedBy: "official-anna"})
	e := c.next()
	assert.Equal(t, uint64(head)+1, e.id)
	assert.Equal(t, "ProcessPhaseChanged", e.n.EventType)
	assert.Equal(t, []string{NameProcesses, NameActors}, e.n.Models)

	// Without Last-Event-ID a client gets changes from now on.
	fresh := dialSSE(t, srv.URL, "")
	l.add("official-anna", domain.RoleOfficial, &domain.ProcessClosed{ProcessID: "p2", Reason: "Klar", ClosedBy: "official-anna"})
	assert.Equal(t, uint64(head)+2, fresh.next().id)

	// A malformed Last-Event-ID is refused before streaming starts.
	resp, err := http.Get(srv.URL + "?last_event_id=x")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestSSEFilterAndNotificationsIterator(t *testing.T) {
	l := newLedger(t)
	seed(l)
	r, err := NewRunner(l.s, Config{}, allModels()...)
	require.NoError(t, err)
	start(t, r)
	waitFor(t, r, l.head())

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = r.Hub().ServeSSE(w, req, func(n Notification) bool { return n.ProcessID == "p2" })
	}))
	t.Cleanup(srv.Close) // after the clients' cleanups: Close waits for open streams
	c := dialSSE(t, srv.URL, "0")
	// p2's events in the seed: ProcessOpened, s2, s3 and the five about s3.
	var types []string
	for range 8 {
		e := c.next()
		assert.Equal(t, "p2", e.n.ProcessID)
		types = append(types, e.n.EventType)
	}
	assert.Equal(t, []string{"ProcessOpened", "SubmissionReceived", "SubmissionReceived", "ModerationDecided",
		"ContentFlagged", "ModerationDecided", "AppealFiled", "AppealDecided"}, types)

	// The Go iterator yields the same positions in order, then stops with
	// ctx's error.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	last := eventstore.Position(3)
	for n, err := range r.Hub().Notifications(ctx, last) {
		if err != nil {
			assert.ErrorIs(t, err, context.Canceled)
			break
		}
		require.Equal(t, last+1, n.Position)
		last = n.Position
		if last == l.head() {
			cancel()
		}
	}
	assert.Equal(t, l.head(), last)
}
