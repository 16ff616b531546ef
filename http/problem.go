package ledgerhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"syscall"

	"github.com/go-chi/chi/v5"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
	"github.com/malmo/participation-ledger/projections"
)

// ProblemBase prefixes every problem type URI. The URIs are a stable,
// documented contract: clients switch on them, not on titles.
const ProblemBase = "https://ledger.malmo.se/problems/"

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Revision is the stream's actual revision on a precondition failure,
	// so a client can re-read and retry.
	Revision *uint64 `json:"revision,omitempty"`
	// RequestID is the request's X-Request-Id: the server's log lines
	// about this answer carry the same id.
	RequestID string `json:"request_id,omitempty"`
}

// The HTTP layer's own named errors, mapped in problemFor like every other.
var (
	errUnauthorized      = errors.New("missing or invalid bearer token")
	errForbidden         = errors.New("role may not do this")
	errNoIdempotencyKey  = errors.New("Idempotency-Key header required")
	errKeyReused         = errors.New("Idempotency-Key reused with a different request")
	errTooLarge          = errors.New("request body too large")
	errRateLimited       = errors.New("rate limit exceeded")
	errBadJSON           = errors.New("malformed JSON body")
	errBadIfMatch        = errors.New(`If-Match must be a quoted revision, e.g. "3"`)
	errNotFound          = errors.New("no such resource")
	errMethodNotAllowed  = errors.New("method not allowed")
	errUnsupportedMedium = errors.New("Content-Type must be application/json")
)

// problemFor is the one place where errors become HTTP answers. Anything it
// does not recognise is a 500 whose text is logged, never sent.
func problemFor(err error) Problem {
	p := func(status int, typ, title string) Problem {
		return Problem{Type: ProblemBase + typ, Title: title, Status: status, Detail: err.Error()}
	}
	var pre *ledger.PreconditionError
	switch {
	case errors.As(err, &pre):
		pr := p(http.StatusPreconditionFailed, "precondition-failed", "Stream revision does not match If-Match")
		if pre.Exists {
			rev := pre.Actual
			pr.Revision = &rev
		}
		return pr
	case errors.Is(err, eventstore.ErrWrongExpectedVersion):
		return p(http.StatusConflict, "wrong-expected-version", "Concurrent change, retry")
	case errors.Is(err, errUnauthorized), errors.Is(err, ledger.ErrUnauthorized):
		return p(http.StatusUnauthorized, "unauthorized", "Unauthorized")
	case errors.Is(err, errForbidden), errors.Is(err, domain.ErrForbidden):
		return p(http.StatusForbidden, "forbidden", "Forbidden")
	case errors.Is(err, errNoIdempotencyKey), errors.Is(err, errBadJSON), errors.Is(err, errBadIfMatch), errors.Is(err, errBadQuery):
		return p(http.StatusBadRequest, "bad-request", "Bad request")
	case errors.Is(err, errUnsupportedMedium):
		return p(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type")
	case errors.Is(err, errKeyReused):
		return p(http.StatusUnprocessableEntity, "idempotency-key-reused", "Idempotency-Key reused")
	case errors.Is(err, errTooLarge):
		return p(http.StatusRequestEntityTooLarge, "too-large", "Request too large")
	case errors.Is(err, errRateLimited):
		return p(http.StatusTooManyRequests, "rate-limited", "Too many requests")
	case errors.Is(err, errMethodNotAllowed):
		return p(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed")
	case errors.Is(err, errNotFound), errors.Is(err, domain.ErrNotFound), errors.Is(err, eventstore.ErrStreamNotFound):
		return p(http.StatusNotFound, "not-found", "Not found")
	case errors.Is(err, domain.ErrConflict):
		return p(http.StatusConflict, "conflict", "Conflict with current state")
	case errors.Is(err, domain.ErrInvalid), errors.Is(err, eventstore.ErrInvalid), errors.Is(err, ledger.ErrInvalid):
		return p(http.StatusUnprocessableEntity, "invalid", "Invalid request")
	case errors.Is(err, ledger.ErrDisposed):
		return p(http.StatusGone, "disposed", "Disposed under a recorded decision")
	case errors.Is(err, eventstore.ErrNoSpace), errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		return p(http.StatusInsufficientStorage, "insufficient-storage", "The ledger's disk is full; retry later")
	case errors.Is(err, eventstore.ErrUnavailable):
		return p(http.StatusServiceUnavailable, "write-unavailable", "The ledger does not take writes now")
	case errors.Is(err, eventstore.ErrCorrupt):
		return p(http.StatusServiceUnavailable, "storage-damaged", "The ledger's stored data is damaged; operators are told")
	case errors.Is(err, syscall.EIO):
		return p(http.StatusServiceUnavailable, "storage-error", "The ledger's storage failed; retry later")
	case errors.Is(err, errNoReadSide), errors.Is(err, projections.ErrNotCaughtUp):
		return p(http.StatusServiceUnavailable, "unavailable", "Temporarily unavailable")
	}
	return Problem{Type: ProblemBase + "internal", Title: "Internal error", Status: http.StatusInternalServerError}
}

// StatusClientClosed is the status recorded (and written, to nobody) when
// the client went away before its answer was ready, as nginx's 499.
const StatusClientClosed = 499

// writeProblem answers with err as problem+json. 500s are logged at error
// with the error (which may hold internals but never request bodies) and
// the request id the problem carries; a client that went away is logged
// at debug and answered 499.
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		log.DebugContext(r.Context(), "client went away", "method", r.Method, "err", err)
		w.WriteHeader(StatusClientClosed)
		return
	}
	pr := problemFor(err)
	pr.Instance = r.URL.Path
	pr.RequestID = requestID(r.Context())
	if pr.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", routePattern(r), "err", err)
	}
	if pr.Status == http.StatusInsufficientStorage {
		w.Header().Set("Retry-After", "30") // space may be freed any time; the write stored nothing
	}
	if pr.Status == http.StatusTooManyRequests {
		var rl *rateLimitError
		if errors.As(err, &rl) {
			w.Header().Set("Retry-After", strconv.Itoa(rl.retryAfterSeconds()))
		}
	}
	writeJSON(w, "application/problem+json", pr.Status, pr)
}

func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every value written here is a plain struct; failing to encode is a bug.
		panic(fmt.Sprintf("ledgerhttp: encoding response: %v", err))
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// routePattern is the matched route's pattern ("" before routing).
func routePattern(r *http.Request) string {
	if rc := chi.RouteContext(r.Context()); rc != nil {
		return rc.RoutePattern()
	}
	return ""
}
