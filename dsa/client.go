package dsa

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
)

// Client submits bulk bodies to a DSA Transparency Database API (POST
// {URL}/api/v1/statements with a bearer token) and records every call.
type Client struct {
	URL      string       // the database's base URL, e.g. https://transparency.dsa.ec.europa.eu
	Token    string       // the platform's API token
	HTTP     *http.Client // default: 30 s timeout
	Attempts int          // calls per batch before giving up (default 5)
	Backoff  time.Duration
	// Record stores the outcome of one batch (after its retries), e.g. as
	// a DSAStatementsSubmitted event. A failure to record stops SubmitAll.
	Record func(ctx context.Context, rec domain.RecordDSASubmission) error
}

// Endpoint is the URL batches are posted to.
func (c *Client) Endpoint() string { return strings.TrimSuffix(c.URL, "/") + "/api/v1/statements" }

// SubmitAll submits the statements not yet accepted, batch by batch, and
// records each batch's outcome. It returns the records; a refused or failed
// batch does not stop the others.
func (c *Client) SubmitAll(ctx context.Context, r Result) ([]domain.RecordDSASubmission, error) {
	var recs []domain.RecordDSASubmission
	for _, b := range (Result{Statements: r.Pending()}).Batches() {
		rec := c.Submit(ctx, b)
		if c.Record != nil {
			if err := c.Record(ctx, rec); err != nil {
				return recs, fmt.Errorf("dsa: recording the submission of %d statements: %w", len(b.Statements), err)
			}
		}
		recs = append(recs, rec)
		if ctx.Err() != nil {
			return recs, ctx.Err()
		}
	}
	return recs, nil
}

// Submit posts one batch, retrying what may succeed later (no answer, 429,
// 5xx) with doubling waits (a Retry-After of up to a minute is honoured).
// A 4xx other than 429 is the database refusing: not retried. A retry that
// finds every puid already in the database (its answer when an earlier
// attempt got through but its response was lost) counts as accepted.
func (c *Client) Submit(ctx context.Context, b Bulk) domain.RecordDSASubmission {
	rec := domain.RecordDSASubmission{Endpoint: c.Endpoint(), Outcome: domain.DSAFailed}
	for _, s := range b.Statements {
		rec.PUIDs = append(rec.PUIDs, s.PUID)
	}
	body, err := json.Marshal(b)
	if err != nil {
		rec.Attempts, rec.Detail = 1, err.Error()
		return rec
	}
	attempts, wait := max(c.Attempts, 1), c.Backoff
	if c.Attempts == 0 {
		attempts = 5
	}
	if wait <= 0 {
		wait = time.Second
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	for rec.Attempts < attempts {
		rec.Attempts++
		status, answer, retryAfter, err := c.post(ctx, hc, body)
		rec.Status = status
		switch {
		case err != nil:
			rec.Detail = err.Error()
		case status == http.StatusCreated || status == http.StatusOK:
			rec.Outcome, rec.Detail = domain.DSAAccepted, ""
			return rec
		case rec.Attempts > 1 && status == http.StatusUnprocessableEntity && allExisting(answer, rec.PUIDs):
			rec.Outcome, rec.Detail = domain.DSAAccepted, "already in the database (an earlier attempt got through)"
			return rec
		case status == http.StatusTooManyRequests || status >= 500:
			rec.Detail = truncate(string(answer))
		default:
			rec.Outcome, rec.Detail = domain.DSARefused, truncate(string(answer))
			return rec
		}
		if rec.Attempts == attempts {
			break
		}
		d := wait
		if retryAfter > 0 {
			d = min(retryAfter, time.Minute)
		}
		select {
		case <-ctx.Done():
			rec.Detail = ctx.Err().Error()
			return rec
		case <-time.After(d):
		}
		wait *= 2
	}
	return rec
}

func (c *Client) post(ctx context.Context, hc *http.Client, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint(), bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	res, err := hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return res.StatusCode, nil, 0, err
	}
	secs, _ := strconv.Atoi(res.Header.Get("Retry-After"))
	return res.StatusCode, answer, time.Duration(secs) * time.Second, nil
}

// allExisting reports whether a 422 answer says that every puid is
// already in the database ({"errors":{"existing_puids":[...]}}).
func allExisting(answer []byte, puids []string) bool {
	var a struct {
		Errors struct {
			Existing []string `json:"existing_puids"`
		} `json:"errors"`
	}
	if json.Unmarshal(answer, &a) != nil || len(a.Errors.Existing) == 0 {
		return false
	}
	for _, p := range puids {
		if !slices.Contains(a.Errors.Existing, p) {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	const max = 8000
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
