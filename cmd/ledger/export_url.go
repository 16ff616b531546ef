package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/malmo/participation-ledger/export"
	"github.com/malmo/participation-ledger/integrity"
)

// remoteExport is `ledger export --url`: the export is written by the
// running ledger of record (POST /v1/exports records ExportIssued there),
// then every file of its manifest is downloaded and checked here — sizes
// and SHA-256 against the manifest, the checkpoint's signature against the
// verifier key, and for an auditor export every leaf and the root, as
// `ledger verify --export` does. Nothing is signed or appended locally.
type remoteExport struct {
	base, token, kind, from, to, process, out, key string
	client                                         *http.Client
	stdout, stderr                                 io.Writer
}

func (x *remoteExport) run(ctx context.Context) error {
	if x.token == "" {
		return errors.New("--url needs --token (LEDGER_TOKEN): an auditor's token for an audit export, a researcher's for a research export")
	}
	u, err := url.Parse(x.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--url %q: want the ledger's base URL, e.g. https://ledger.example.se", x.base)
	}
	if entries, err := os.ReadDir(x.out); err == nil && len(entries) > 0 {
		return fmt.Errorf("--out %s is not empty", x.out)
	}
	body, _ := json.Marshal(map[string]string{"kind": x.kind, "from": x.from, "to": x.to, "process": x.process})
	// One idempotency key per run: a retried POST of this run gets the
	// same export instead of a second one.
	var created struct {
		ID       string `json:"id"`
		Position uint64 `json:"position"`
	}
	if err := x.call(ctx, http.MethodPost, "/v1/exports", body, &created, "Idempotency-Key", "ledger-export-"+uuid.NewString()); err != nil {
		return fmt.Errorf("asking the ledger for the export: %w", err)
	}
	if _, err := uuid.Parse(created.ID); err != nil {
		return fmt.Errorf("the ledger answered no export id (%q)", created.ID)
	}
	if err := os.MkdirAll(x.out, 0o750); err != nil {
		return err
	}
	fmt.Fprintf(x.stderr, "export %s written by the ledger; downloading\n", created.ID)
	var raw json.RawMessage
	if err := x.call(ctx, http.MethodGet, "/v1/exports/"+created.ID+"/"+export.ManifestName, nil, &raw); err != nil {
		return fmt.Errorf("downloading the manifest: %w", err)
	}
	var m export.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("the manifest: %w", err)
	}
	for _, f := range m.Files {
		if err := x.download(ctx, created.ID, f.Name); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(x.out, export.ManifestName), raw, 0o640); err != nil {
		return err
	}
	if err := export.CheckFiles(x.out, m); err != nil {
		return fmt.Errorf("the downloaded files do not match the manifest: %w", err)
	}

	key := x.key
	if key == "" {
		var k struct {
			Verifier string `json:"verifier"`
		}
		if err := x.call(ctx, http.MethodGet, "/v1/ledger/key", nil, &k, "Accept", "application/json"); err != nil {
			return fmt.Errorf("reading the ledger's verifier key: %w", err)
		}
		key = k.Verifier
		fmt.Fprintf(x.stdout, "key: %s (from %s/v1/ledger/key; pass --key for a check independent of the server)\n", key, x.base)
	}
	if m.Kind == export.Audit {
		if err := verifyExport(x.out, key, nil, x.stdout); err != nil {
			return fmt.Errorf("the export does not verify: %w", err)
		}
	} else if _, err := integrity.OpenCheckpoint([]byte(m.Checkpoint.Note), key); err != nil {
		return fmt.Errorf("the research export's checkpoint: %w", err)
	}
	fmt.Fprintf(x.stdout, "export %s: %s export of positions %d..%d, %d events, %d files in %s, checked against the manifest\n",
		created.ID, m.Kind, m.FirstPosition, m.LastPosition, m.EventCount, len(m.Files), x.out)
	fmt.Fprintf(x.stdout, "checkpoint: size %d root %s\nrecorded by the ledger as ExportIssued at position %d\n",
		m.Checkpoint.Size, m.Checkpoint.Root, created.Position)
	return nil
}

// download fetches one file of the export into --out.
func (x *remoteExport) download(ctx context.Context, id, name string) error {
	local := filepath.FromSlash(name)
	if name == "" || strings.Contains(name, "\\") || !filepath.IsLocal(local) || path.Clean(name) != name {
		return fmt.Errorf("the manifest names %q, which is not a file of the export", name)
	}
	dst := filepath.Join(x.out, local)
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
		return err
	}
	res, err := x.do(ctx, http.MethodGet, "/v1/exports/"+id+"/"+name, nil)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", name, err)
	}
	defer res.Body.Close()
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, res.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("downloading %s: %w", name, err)
	}
	return nil
}

// call sends a request and decodes a 2xx JSON answer into out.
func (x *remoteExport) call(ctx context.Context, method, p string, body []byte, out any, hdr ...string) error {
	res, err := x.do(ctx, method, p, body, hdr...)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not JSON: %w", method, p, err)
	}
	return nil
}

// do sends a request with the token; an answer outside 2xx is an error
// carrying the problem's title and detail.
func (x *remoteExport) do(ctx context.Context, method, p string, body []byte, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(x.base, "/")+p, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+x.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := x.client.Do(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode/100 == 2 {
		return res, nil
	}
	defer res.Body.Close()
	var pr struct{ Title, Detail string }
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if json.Unmarshal(b, &pr) == nil && pr.Title != "" {
		return nil, fmt.Errorf("%s %s: %s: %s (HTTP %d)", method, p, pr.Title, pr.Detail, res.StatusCode)
	}
	return nil, fmt.Errorf("%s %s: HTTP %d", method, p, res.StatusCode)
}

// exportClient is the HTTP client of `ledger export --url`: an export is
// written synchronously by the server, so the whole call may take minutes.
func exportClient() *http.Client { return &http.Client{Timeout: 30 * time.Minute} }
