package ledgerhttp_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// FuzzWriteBodies sends arbitrary bodies to the write routes, as their
// callers would: whatever arrives, the answer is a 2xx or a 4xx problem,
// never a 5xx or a dropped connection.
func FuzzWriteBodies(f *testing.F) {
	e := newEnv(f, nil)
	w := e.world()
	routes := []struct{ path, who string }{
		{"/v1/processes", "official"},
		{"/v1/processes/" + w.process + "/submissions", "own"},
		{"/v1/submissions/" + w.submission + "/comments", "other"},
		{"/v1/submissions/" + w.submission + "/support", "other"},
		{"/v1/processes/" + w.process + "/survey/answers", "own"},
		{"/v1/moderation/decisions", "moderator"},
		{"/v1/appeals", "own"},
		{"/v1/participants", "intake"},
		{"/v1/flags", "other"},
	}
	f.Add(uint8(1), []byte(`{"language":"sv","title":"Bänkar","body":"Fler bänkar vid kanalen."}`))
	f.Add(uint8(0), []byte(processBody))
	f.Add(uint8(5), []byte(`{"item":{"kind":"submission","id":"`+w.submission+`"},"content_version":1}`))
	f.Add(uint8(7), []byte(`{"pseudonym":"x","language":"sv","email":"a@b.se"}`))
	f.Add(uint8(2), []byte(`{"language":"sv","body":"\u0000"}`))
	f.Add(uint8(3), []byte(``))
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		req, err := http.NewRequest("POST", e.srv.URL+r.path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+e.tokens[r.who])
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", "fuzz-"+itoa(e.keys.Add(1)))
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatalf("POST %s with %q: %v", r.path, body, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("POST %s with %q: %d %s", r.path, body, res.StatusCode, b)
		}
	})
}
