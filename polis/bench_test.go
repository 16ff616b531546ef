package polis_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/malmo/participation-ledger/eventstore/embedded"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/polis"
	"github.com/malmo/participation-ledger/privacy"
)

// synthetic returns an Austria-sized conversation (the climate council's
// Polis had about 60k votes): 1500 participants, 300 statements, 40 votes
// each, a few changed votes, a tenth of the statements moderated out.
func synthetic(participants, statements, votesEach int) *polis.Conversation {
	r := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2022, 3, 1, 9, 0, 0, 0, time.UTC)
	c := &polis.Conversation{Summary: [][2]string{{"topic", "Klimarat"}},
		Files: []polis.File{{Name: "synthetic", SHA256: fmt.Sprintf("%064x", participants*1_000_000+statements*1000+votesEach)}}}
	for i := range statements {
		mod := polis.Accepted
		if i%10 == 0 {
			mod = polis.ModeratedOut
		}
		c.Comments = append(c.Comments, polis.Comment{Timestamp: t0.Add(time.Duration(i) * time.Minute), ID: i,
			AuthorID: r.IntN(participants), Moderated: mod, Body: fmt.Sprintf("Statement %d about the climate and what to do", i)})
	}
	for p := range participants {
		for j := range votesEach {
			cid := (p*7 + j*13) % statements
			if j == votesEach-1 {
				cid = (p*7 + (j-1)*13) % statements // a changed vote
			}
			c.Votes = append(c.Votes, polis.Vote{Timestamp: t0.Add(time.Duration(statements+p*votesEach+j) * time.Second),
				CommentID: cid, VoterID: p, Vote: r.IntN(3) - 1})
		}
	}
	return c
}

// BenchmarkImport60k imports 60 000 votes into the embedded store (fsync'd
// appends) and reports the vote step's rate, which batching (many votes
// per append, concurrent appends sharing fsyncs) has to keep at or above
// 20 000 votes/s, and the whole import's.
func BenchmarkImport60k(b *testing.B) {
	c := synthetic(1500, 300, 40)
	ctx := context.Background()
	var votes, total time.Duration
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		store, err := embedded.Open(dir + "/store")
		if err != nil {
			b.Fatal(err)
		}
		keys, err := privacy.Open(dir + "/keys")
		if err != nil {
			b.Fatal(err)
		}
		svc := ledger.New(store, keys)
		b.StartTimer()
		var stepStart time.Time
		began := time.Now()
		res, err := polis.Import(ctx, svc, c, polis.Options{Title: "Klimarat", Progress: func(step string, _ int) {
			switch step {
			case "statements":
				stepStart = time.Now()
			case "votes":
				votes += time.Since(stepStart)
			}
		}})
		total += time.Since(began)
		if err != nil || res.Votes != 60_000 {
			b.Fatal(res, err)
		}
		b.StopTimer()
		store.Close()
		b.StartTimer()
	}
	b.ReportMetric(60_000*float64(b.N)/votes.Seconds(), "votes/s")
	b.ReportMetric(60_000*float64(b.N)/total.Seconds(), "votes/s-whole-import")
}
