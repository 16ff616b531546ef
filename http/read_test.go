package ledgerhttp_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/integrity"
)

// get is a read that waits for the models to have applied min (a write's
// position), as a client reading its own writes does.
func (e *env) get(path, who string, min string, hdr ...string) reply {
	e.t.Helper()
	return e.do("GET", path, who, "", append([]string{"X-Ledger-Min-Position", min}, hdr...)...)
}

func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(r.body, &v), "body %s", r.body)
	return v
}

const hideBody = `"content_version":1,"visibility":"content_disabled","ground":"illegal_content","legal_ground":"BrB 5:1",
	"category":"illegal_or_harmful_speech","explanation":"Förtal av en namngiven person","ground_explanation":"Påståendet pekar ut personen som brottsling (BrB 5:1).",
	"automated_decision":"automated_decision_not_automated","source":"source_voluntary"}`

func TestReadRoutes(t *testing.T) {
	e := newEnv(t, withReads(t))
	w := e.world()
	item := `{"kind":"submission","id":"` + w.submission + `"}`
	flag := e.must(201, e.do("POST", "/v1/flags", "other", `{"item":`+item+`,"content_version":1,"category":"illegal_or_harmful_speech"}`))
	pos := flag.position(t)

	t.Run("processes", func(t *testing.T) {
		r := e.must(200, e.get("/v1/processes", "", pos))
		assert.Equal(t, pos, r.header.Get("X-Ledger-Position"))
		list := decode[struct {
			Position  int
			Processes []struct {
				ID         string
				CaseNumber string `json:"case_number"`
			}
		}](t, r)
		require.Len(t, list.Processes, 1)
		assert.Equal(t, w.process, list.Processes[0].ID)
		assert.Equal(t, "KS-2024-622", list.Processes[0].CaseNumber)
		assert.Equal(t, pos, strconv.Itoa(list.Position))

		one := decode[struct {
			Process struct {
				Submissions struct{ Total, Restricted int }
			}
		}](t, e.must(200, e.get("/v1/processes/"+w.process, "", pos)))
		assert.Equal(t, 1, one.Process.Submissions.Total)
		assert.Equal(t, 1, one.Process.Submissions.Restricted)
		assert.Equal(t, "not-found", e.get("/v1/processes/nope", "", pos).problemType(t))

		subs := e.must(200, e.get("/v1/processes/"+w.process+"/submissions", "", pos))
		assert.Contains(t, string(subs.body), `"text":"Belysningen i parken är dålig."`)
		assert.NotContains(t, string(subs.body), `"sealed"`)
	})

	t.Run("queue", func(t *testing.T) {
		q := decode[struct {
			Queue []struct {
				ItemID string `json:"item_id"`
				Reason string
				Flags  int
			}
		}](t, e.must(200, e.get("/v1/moderation/queue?process="+w.process, "moderator", pos)))
		require.Len(t, q.Queue, 1)
		assert.Equal(t, w.submission, q.Queue[0].ItemID)
		assert.Equal(t, "flagged", q.Queue[0].Reason)
		empty := e.must(200, e.get("/v1/moderation/queue?process=other", "admin", pos))
		assert.Contains(t, string(empty.body), `"queue":[]`)
	})

	// Hide the submission: the public sees the statement of reasons, staff
	// with view=internal see the content, and that read is recorded.
	hide := e.must(201, e.do("POST", "/v1/moderation/decisions", "moderator", `{"item":`+item+`,`+hideBody))
	pos = hide.position(t)
	t.Run("hidden item", func(t *testing.T) {
		pub := e.must(200, e.get("/v1/submissions/"+w.submission, "", pos))
		v := decode[struct {
			Submission struct {
				Status  string
				Content *json.RawMessage
				Hidden  *struct {
					Explanation, Ground string
					LegalGround         string `json:"legal_ground"`
				}
				Author string
			}
		}](t, pub)
		assert.Equal(t, "hidden", v.Submission.Status)
		assert.Nil(t, v.Submission.Content)
		require.NotNil(t, v.Submission.Hidden)
		assert.Equal(t, "Förtal av en namngiven person", v.Submission.Hidden.Explanation)
		assert.Equal(t, "illegal_content", v.Submission.Hidden.Ground)
		assert.Equal(t, "BrB 5:1", v.Submission.Hidden.LegalGround)
		assert.Equal(t, "own", v.Submission.Author, "the public sees the pseudonym")
		assert.NotContains(t, string(pub.body), "Belysningen")
		assert.NotContains(t, string(pub.body), e.own, "the public view does not name the participant id")

		in := e.must(200, e.get("/v1/submissions/"+w.submission+"?view=internal&purpose=appeal+review", "official", pos))
		assert.Contains(t, string(in.body), `"text":"Belysningen i parken är dålig."`)
		assert.Contains(t, string(in.body), `"text":"Bättre belysning"`)
		assert.Equal(t, "no-store", in.header.Get("Cache-Control"))

		assert.Equal(t, 401, e.get("/v1/submissions/"+w.submission+"?view=internal", "", pos).status)
		assert.Equal(t, 403, e.get("/v1/submissions/"+w.submission+"?view=internal", "own", pos).status)
		assert.Equal(t, 403, e.get("/v1/submissions/"+w.submission+"?view=internal", "researcher", pos).status)
		assert.Equal(t, "bad-request", e.get("/v1/submissions/"+w.submission+"?view=secret", "", pos).problemType(t))

		// The access log: by actor and by subject.
		type accesses struct {
			Accesses []struct {
				Actor, Role, Purpose, Resource string
				SubjectID                      string `json:"subject_id"`
			}
		}
		byActor := decode[accesses](t, e.must(200, e.get("/v1/access?actor=official-1", "auditor", pos)))
		require.Len(t, byActor.Accesses, 2, "the submission and its author")
		assert.Equal(t, w.submission, byActor.Accesses[0].SubjectID)
		assert.Equal(t, e.own, byActor.Accesses[1].SubjectID)
		assert.Equal(t, "appeal review", byActor.Accesses[0].Purpose)
		assert.Equal(t, "official", byActor.Accesses[0].Role)
		assert.Equal(t, "/v1/submissions/{id}?view=internal", byActor.Accesses[0].Resource)
		bySubject := decode[accesses](t, e.must(200, e.get("/v1/access?subject="+e.own, "auditor", pos)))
		require.Len(t, bySubject.Accesses, 1)
		assert.Equal(t, "official-1", bySubject.Accesses[0].Actor)
		none := decode[accesses](t, e.must(200, e.get("/v1/access?subject="+e.other, "auditor", pos)))
		assert.Empty(t, none.Accesses)
	})

	t.Run("trail", func(t *testing.T) {
		type trail struct {
			Trail []struct{ Type, Role, Actor, Explanation string }
		}
		pub := decode[trail](t, e.must(200, e.get("/v1/items/"+w.submission+"/trail", "", pos)))
		require.Len(t, pub.Trail, 4) // received, labelled, flagged, hidden
		assert.Equal(t, []string{"SubmissionReceived", "ModerationDecided", "ContentFlagged", "ModerationDecided"},
			[]string{pub.Trail[0].Type, pub.Trail[1].Type, pub.Trail[2].Type, pub.Trail[3].Type})
		last := pub.Trail[3]
		assert.Equal(t, "moderator", last.Role)
		assert.True(t, strings.HasPrefix(last.Actor, "p-"), "pseudonym, got %q", last.Actor)
		assert.Equal(t, pub.Trail[1].Actor, last.Actor, "one moderator, one stable pseudonym")
		assert.Empty(t, pub.Trail[2].Actor, "who sent a notice is not public")
		assert.Equal(t, "Förtal av en namngiven person", last.Explanation)

		named := decode[trail](t, e.must(200, e.get("/v1/items/"+w.submission+"/trail?view=internal", "auditor", pos)))
		assert.Equal(t, "moderator-1", named.Trail[3].Actor)
		assert.Equal(t, 403, e.get("/v1/items/"+w.submission+"/trail?view=internal", "moderator", pos).status)
		assert.Equal(t, 404, e.get("/v1/items/nope/trail", "", pos).status)
	})

	t.Run("transparency", func(t *testing.T) {
		rep := decode[struct {
			Report struct {
				Notices, Decisions, Restrictions int
				ByGround                         map[string]int `json:"decisions_by_ground"`
			}
		}](t, e.must(200, e.get("/v1/reports/transparency?process="+w.process, "", pos)))
		assert.Equal(t, 1, rep.Report.Notices)
		assert.Equal(t, 2, rep.Report.Decisions)
		assert.Equal(t, 2, rep.Report.Restrictions)
		assert.Equal(t, map[string]int{"illegal_content": 1, "incompatible_content": 1}, rep.Report.ByGround)

		csv := e.must(200, e.get("/v1/reports/transparency?process="+w.process, "", pos, "Accept", "text/csv"))
		assert.Equal(t, "text/csv; charset=utf-8", csv.header.Get("Content-Type"))
		lines := strings.Split(strings.TrimSpace(string(csv.body)), "\n")
		assert.Equal(t, "metric,key,value", lines[0])
		assert.Contains(t, lines, "decisions,,2")
		assert.Contains(t, lines, "decisions_by_ground,illegal_content,1")
		assert.Contains(t, lines, "process_id,,"+w.process)

		// A period before anything happened counts nothing.
		old := decode[struct{ Report struct{ Decisions int } }](t, e.must(200, e.get("/v1/reports/transparency?period=2001-Q1", "", pos)))
		assert.Equal(t, 0, old.Report.Decisions)
		year := time.Now().UTC().Format("2006")
		now := decode[struct{ Report struct{ Decisions int } }](t, e.must(200, e.get("/v1/reports/transparency?period="+year, "", pos)))
		assert.Equal(t, 2, now.Report.Decisions)
		assert.Equal(t, 400, e.get("/v1/reports/transparency?period=2024-Q5", "", pos).status)
	})

	t.Run("participation", func(t *testing.T) {
		st := decode[struct {
			Stats struct {
				Participants struct {
					Count      *int
					Suppressed bool
				}
			}
		}](t, e.must(200, e.get("/v1/stats/participation?process="+w.process, "", pos)))
		assert.Nil(t, st.Stats.Participants.Count, "one participant is a small cell")
		assert.True(t, st.Stats.Participants.Suppressed)
		assert.Equal(t, 400, e.get("/v1/stats/participation", "", pos).status)
		assert.Equal(t, 404, e.get("/v1/stats/participation?process=nope", "", pos).status)
	})

	t.Run("actors", func(t *testing.T) {
		type trail struct {
			Trail []struct {
				Type, Role string
				ItemID     string `json:"item_id"`
			}
		}
		own := decode[trail](t, e.must(200, e.get("/v1/actors/moderator-1/trail", "moderator", pos)))
		require.Len(t, own.Trail, 2)
		assert.Equal(t, "ModerationDecided", own.Trail[1].Type)
		assert.Equal(t, w.submission, own.Trail[1].ItemID)
		assert.Equal(t, 403, e.get("/v1/actors/official-1/trail", "moderator", pos).status)
		page := decode[trail](t, e.must(200, e.get("/v1/actors/moderator-1/trail?limit=1", "auditor", pos)))
		assert.Len(t, page.Trail, 1)
	})

	t.Run("raw", func(t *testing.T) {
		evs := decode[struct {
			Head, Next int
			Events     []struct {
				Position int
				Type     string
				Data     json.RawMessage
			}
		}](t, e.must(200, e.get("/v1/events?from=2&limit=3", "auditor", pos)))
		require.Len(t, evs.Events, 3)
		assert.Equal(t, 3, evs.Events[0].Position)
		assert.Equal(t, 5, evs.Next)
		nd := e.must(200, e.get("/v1/events?from=2&limit=3", "admin", pos, "Accept", "application/x-ndjson"))
		lines := strings.Split(strings.TrimSuffix(string(nd.body), "\n"), "\n")
		require.Len(t, lines, 3)
		ev, err := eventstore.ParseCanonical([]byte(lines[0]), 3)
		require.NoError(t, err)
		assert.Equal(t, evs.Events[0].Type, ev.Type)

		st := decode[struct {
			Stream string
			Events []struct{ Revision int }
		}](t, e.must(200, e.get("/v1/streams/submission-"+w.submission+"?direction=backwards&limit=2", "auditor", pos)))
		require.Len(t, st.Events, 2)
		assert.Greater(t, st.Events[0].Revision, st.Events[1].Revision)
		assert.Equal(t, 404, e.get("/v1/streams/submission-nope", "auditor", pos).status)
	})
}

// TestAsOfEquality takes every read-model answer after each of a series of
// writes, then asks again with as_of=<that position> once everything is
// written: the answers must be byte for byte the same.
func TestAsOfEquality(t *testing.T) {
	e := newEnv(t, withReads(t))
	w := e.world()
	item := `{"kind":"submission","id":"` + w.submission + `"}`
	routes := func() []string {
		return []string{"/v1/processes", "/v1/processes/" + w.process, "/v1/processes/" + w.process + "/submissions",
			"/v1/submissions/" + w.submission, "/v1/items/" + w.submission + "/trail",
			"/v1/reports/transparency", "/v1/stats/participation?process=" + w.process}
	}
	staff := []struct{ path, who string }{
		{"/v1/moderation/queue", "moderator"},
		{"/v1/items/" + w.submission + "/trail?view=internal", "auditor"},
		{"/v1/actors/moderator-1/trail", "auditor"},
	}
	type answer struct {
		path, who, pos string
		body           []byte
	}
	var seen []answer
	snap := func(pos string) {
		for _, p := range routes() {
			r := e.must(200, e.get(p, "", pos))
			seen = append(seen, answer{p, "", r.position(t), r.body})
		}
		for _, s := range staff {
			r := e.must(200, e.get(s.path, s.who, pos))
			seen = append(seen, answer{s.path, s.who, r.position(t), r.body})
		}
	}
	head := decode[struct{ Head int }](t, e.must(200, e.do("GET", "/v1/events?limit=1", "auditor", "")))
	snap(strconv.Itoa(head.Head))
	writes := []func() reply{
		func() reply {
			return e.do("POST", "/v1/flags", "other", `{"item":`+item+`,"content_version":1,"category":"scams_and_fraud"}`)
		},
		func() reply {
			return e.do("POST", "/v1/submissions/"+w.submission+"/support", "other", `{}`)
		},
		func() reply {
			return e.do("POST", "/v1/processes/"+w.process+"/submissions", "other", `{"language":"sv","title":"Fler bänkar","body":"Vid Folkets park."}`)
		},
		func() reply {
			return e.do("POST", "/v1/submissions/"+w.submission+"/comments", "other", `{"language":"sv","body":"Håller med."}`)
		},
		func() reply {
			return e.do("POST", "/v1/moderation/decisions", "moderator", `{"item":`+item+`,`+hideBody)
		},
		func() reply {
			return e.do("POST", "/v1/processes/"+w.process+"/phase", "official", `{"to":"beslut"}`)
		},
	}
	for _, write := range writes {
		snap(e.must(201, write()).position(t))
	}
	require.Greater(t, len(seen), 20)
	for _, a := range seen {
		sep := "?"
		if strings.Contains(a.path, "?") {
			sep = "&"
		}
		r := e.must(200, e.do("GET", a.path+sep+"as_of="+a.pos, a.who, ""))
		assert.Equal(t, a.pos, r.header.Get("X-Ledger-Position"), a.path)
		assert.JSONEq(t, string(a.body), string(r.body), "%s as of %s", a.path, a.pos)
		assert.Equal(t, string(a.body), string(r.body), "%s as of %s: byte-identical", a.path, a.pos)
	}

	// as_of by time: what the ledger had recorded at an event's recorded-at
	// is at least that event, and the same answer as by its position.
	evs := decode[struct {
		Events []struct {
			Position   int
			RecordedAt time.Time `json:"recorded_at"`
		}
	}](t, e.must(200, e.do("GET", "/v1/events?from="+strconv.Itoa(head.Head)+"&limit=1", "auditor", "")))
	require.Len(t, evs.Events, 1)
	at := evs.Events[0].RecordedAt.Format(time.RFC3339Nano)
	byTime := e.must(200, e.do("GET", "/v1/processes/"+w.process+"?as_of="+at, "", ""))
	p, _ := strconv.Atoi(byTime.header.Get("X-Ledger-Position"))
	assert.GreaterOrEqual(t, p, head.Head+1)
	byPos := e.must(200, e.do("GET", "/v1/processes/"+w.process+"?as_of="+strconv.Itoa(p), "", ""))
	assert.Equal(t, string(byPos.body), string(byTime.body))
	before := e.must(200, e.do("GET", "/v1/processes?as_of=2001-01-01T00:00:00Z", "", ""))
	assert.Equal(t, "0", before.header.Get("X-Ledger-Position"))
	assert.JSONEq(t, `{"position":0,"processes":[]}`, string(before.body))
	assert.Equal(t, "bad-request", e.do("GET", "/v1/processes?as_of=yesterday", "", "").problemType(t))
	assert.Equal(t, 404, e.do("GET", "/v1/processes/"+w.process+"?as_of=1", "", "").status)
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	id   string
	data string
}

// readSSE reads n events (skipping comments and the retry line).
func readSSE(t *testing.T, sc *bufio.Scanner, n int) []sseEvent {
	t.Helper()
	var out []sseEvent
	var cur sseEvent
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if cur.id != "" {
				out = append(out, cur)
			}
			cur = sseEvent{}
		case strings.HasPrefix(line, "id: "):
			cur.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			cur.data = strings.TrimPrefix(line, "data: ")
		}
	}
	require.Len(t, out, n, "stream ended early: %v", sc.Err())
	return out
}

func openSSE(t *testing.T, e *env, path string, hdr ...string) (*bufio.Scanner, func()) {
	t.Helper()
	req, err := http.NewRequest("GET", e.srv.URL+path, nil)
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	require.Equal(t, 200, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	return bufio.NewScanner(res.Body), func() { res.Body.Close() }
}

// TestLiveResume reads the live feed, drops the connection, writes more,
// and reconnects with Last-Event-ID: every position arrives exactly once.
func TestLiveResume(t *testing.T) {
	e := newEnv(t, withReads(t))
	w := e.world()
	sc, stop := openSSE(t, e, "/v1/live", "Last-Event-ID", "0")
	first := readSSE(t, sc, 5)
	stop()
	for i, ev := range first {
		assert.Equal(t, strconv.Itoa(i+1), ev.id)
	}

	// While disconnected.
	e.must(201, e.do("POST", "/v1/submissions/"+w.submission+"/support", "other", `{}`))
	last := e.must(201, e.do("POST", "/v1/submissions/"+w.submission+"/comments", "other", `{"language":"sv","body":"Ja!"}`))
	end, _ := strconv.Atoi(last.position(t))

	sc, stop = openSSE(t, e, "/v1/live", "Last-Event-ID", first[len(first)-1].id)
	defer stop()
	rest := readSSE(t, sc, end-5)
	for i, ev := range rest {
		assert.Equal(t, strconv.Itoa(6+i), ev.id, "no gap, no repeat")
	}
	var n struct {
		Position  int
		EventType string `json:"event_type"`
		ProcessID string `json:"process_id"`
		Models    []string
	}
	require.NoError(t, json.Unmarshal([]byte(rest[len(rest)-1].data), &n))
	assert.Equal(t, "CommentPosted", n.EventType)
	assert.Equal(t, w.process, n.ProcessID)
	assert.Contains(t, n.Models, "submissions")
	assert.NotContains(t, rest[len(rest)-1].data, "other", "notifications name no actor")

	// Filtered by process: only that process's changes.
	sc2, stop2 := openSSE(t, e, "/v1/live?process="+w.process, "Last-Event-ID", "0")
	defer stop2()
	for _, ev := range readSSE(t, sc2, 3) {
		assert.Contains(t, ev.data, w.process)
	}
	assert.Equal(t, "bad-request", e.do("GET", "/v1/live", "", "", "Last-Event-ID", "x").problemType(t))
}

// TestLedgerProofs checks the integrity routes with tlog alone: the
// checkpoint opens with the served key, an inclusion proof (by index and
// by event id) puts the event's canonical bytes under the signed root, and
// a consistency proof links an older tree to it.
func TestLedgerProofs(t *testing.T) {
	e := newEnv(t, withReads(t))
	w := e.world()
	key := strings.TrimSpace(string(e.must(200, e.do("GET", "/v1/ledger/key", "", "")).body))

	// Wait for a checkpoint covering the world.
	var cp integrity.SignedCheckpoint
	require.Eventually(t, func() bool {
		r := e.must(200, e.do("GET", "/v1/ledger/checkpoint", "", ""))
		var err error
		cp, err = integrity.OpenCheckpoint(r.body, key)
		require.NoError(t, err)
		return cp.Size >= 10
	}, 5*time.Second, 10*time.Millisecond)
	js := decode[struct {
		Size int64
		Note string
	}](t, e.must(200, e.do("GET", "/v1/ledger/checkpoint", "", "", "Accept", "application/json")))
	assert.GreaterOrEqual(t, js.Size, cp.Size)

	nd := e.must(200, e.do("GET", "/v1/events?limit="+strconv.FormatInt(cp.Size, 10), "auditor", "", "Accept", "application/x-ndjson"))
	lines := strings.Split(strings.TrimSuffix(string(nd.body), "\n"), "\n")
	require.Len(t, lines, int(cp.Size))

	check := func(r reply, index int) {
		t.Helper()
		ip := decode[integrity.InclusionResponse](t, r)
		assert.Equal(t, int64(index), ip.LeafIndex)
		assert.Equal(t, tlog.RecordHash([]byte(lines[index])), ip.LeafHash, "leaf = hash of the canonical bytes")
		assert.NoError(t, tlog.CheckRecord(ip.Proof, cp.Size, cp.Root, ip.LeafIndex, ip.LeafHash))
	}
	for _, i := range []int{0, 4, int(cp.Size) - 1} {
		check(e.must(200, e.do("GET", "/v1/ledger/proof/inclusion?index="+strconv.Itoa(i)+"&size="+strconv.FormatInt(cp.Size, 10), "", "")), i)
	}
	ev, err := eventstore.ParseCanonical([]byte(lines[6]), 7)
	require.NoError(t, err)
	size := "&size=" + strconv.FormatInt(cp.Size, 10)
	check(e.must(200, e.do("GET", "/v1/ledger/proof/inclusion?event_id="+ev.ID.String()+size, "", "")), 6)
	check(e.must(200, e.do("GET", "/v1/ledger/proof/inclusion?event_id="+ev.ID.String()+"&stream="+ev.Stream+size, "", "")), 6)
	assert.Equal(t, 404, e.do("GET", "/v1/ledger/proof/inclusion?index=100000", "", "").status)
	assert.Equal(t, 404, e.do("GET", "/v1/ledger/proof/inclusion?event_id=6f1f0c7e-2b55-4a7e-9a43-3f5a8f0e2d11", "", "").status)
	assert.Equal(t, 400, e.do("GET", "/v1/ledger/proof/inclusion", "", "").status)

	// Consistency from the tree of 3 leaves (root computed here from the
	// exported lines) to the signed tree.
	hashes := memHashes{}
	for _, l := range lines {
		hs, err := tlog.StoredHashes(int64(len(hashes.leaves)), []byte(l), &hashes)
		require.NoError(t, err)
		hashes.stored = append(hashes.stored, hs...)
		hashes.leaves = append(hashes.leaves, l)
	}
	root3, err := tlog.TreeHash(3, &hashes)
	require.NoError(t, err)
	rootN, err := tlog.TreeHash(cp.Size, &hashes)
	require.NoError(t, err)
	assert.Equal(t, cp.Root, rootN)
	cr := decode[integrity.ConsistencyResponse](t, e.must(200, e.do("GET", "/v1/ledger/proof/consistency?from=3&to="+strconv.FormatInt(cp.Size, 10), "", "")))
	assert.NoError(t, tlog.CheckTree(cr.Proof, cp.Size, cp.Root, 3, root3))
	assert.Equal(t, 400, e.do("GET", "/v1/ledger/proof/consistency", "", "").status)
	_ = w
}

// memHashes is a tlog.HashReader over hashes computed in the test.
type memHashes struct {
	stored []tlog.Hash
	leaves []string
}

func (m *memHashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.stored[x]
	}
	return out, nil
}
