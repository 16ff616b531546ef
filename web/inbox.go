package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/malmo/participation-ledger/domain"
	"github.com/malmo/participation-ledger/eventstore"
	"github.com/malmo/participation-ledger/ledger"
)

// The resident's inbox: every decision on their content, every decision
// on their appeals and every official answer to their proposals, newest
// first. A moderator's decision on the dashboard is followed by the
// domain's author notice (AuthorNotified, method in_app) in the log, so
// that the log itself shows the author was told.

// notice is one entry of the inbox.
type notice struct {
	Kind     string // "decision", "appeal", "answer"
	At       time.Time
	Item     *myItem
	Decision *myDecision
	Response *myResponse
	Notified bool // an AuthorNotified for it is in the log
}

type inboxData struct {
	Notices []notice
}

// itemState folds a moderated item's stream.
func (h *Handler) itemState(ctx context.Context, kind domain.ItemKind, id string) (domain.Item, error) {
	var evs []domain.Event
	var from uint64
	for {
		page, err := h.cfg.Store.ReadStream(ctx, domain.StreamForItem(kind, id), eventstore.ReadStreamOptions{From: from, Limit: 1000})
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			return domain.Item{}, nil
		}
		if err != nil {
			return domain.Item{}, err
		}
		for _, e := range page {
			ev, err := domain.Decode(e.Type, e.Version, e.Data)
			if err != nil {
				return domain.Item{}, err
			}
			evs = append(evs, ev)
		}
		if len(page) < 1000 {
			break
		}
		from += uint64(len(page))
	}
	switch kind {
	case domain.ItemComment:
		return domain.Fold[domain.Comment](evs).Item, nil
	case domain.ItemStatement:
		return domain.Fold[domain.Statement](evs).Item, nil
	}
	return domain.Fold[domain.Submission](evs).Item, nil
}

// notifyAuthor records that the author of item id is told of decision (or
// of the outcome of appeal) in their inbox. The decision is already
// recorded; a failure here is logged, and the inbox still shows the
// decision (it reads decisions, not notices).
func (h *Handler) notifyAuthor(r *http.Request, by ledger.Principal, kind, id, decision, appeal string) {
	ik := domain.ItemKind(kind)
	it, err := h.itemState(r.Context(), ik, id)
	if err == nil && appeal != "" {
		if a := it.Appeals[appeal]; a != nil {
			decision = a.DecisionID
		}
	}
	if err == nil && (it.Author == "" || decision == "") {
		return // nobody to tell
	}
	if err == nil {
		_, err = h.svc.NotifyAuthor(r.Context(), by.Actor(), ik, id, ledger.Request[domain.NotifyAuthor]{
			Command:        domain.NotifyAuthor{DecisionID: decision, AppealID: appeal, Method: "in_app"},
			IdempotencyKey: "notify-" + decision + "-" + appeal, RequestID: "web-notify"})
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "author notice not recorded", "item", id, "decision", decision, "appeal", appeal, "err", err)
	}
}

// inbox is the resident's notices.
func (h *Handler) inbox(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.resident(w, r)
	if !ok {
		return
	}
	pid := sess.Principal.Participant
	evs, err := h.svc.ParticipantData(r.Context(), sess.Actor(), pid, "")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := collect(pid, evs)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	notified := map[string]bool{}
	for _, e := range evs {
		if e.Type != "AuthorNotified" {
			continue
		}
		var v struct {
			DecisionID string `json:"decision_id"`
			AppealID   string `json:"appeal_id"`
			Author     string `json:"author"`
		}
		if json.Unmarshal(e.Data, &v) == nil && v.Author == pid {
			notified[v.DecisionID+"/"+v.AppealID] = true
		}
	}
	var in inboxData
	for _, it := range d.Items {
		for _, dec := range it.Decisions {
			in.Notices = append(in.Notices, notice{Kind: "decision", At: dec.At, Item: it, Decision: dec, Notified: notified[dec.ID+"/"]})
			if a := dec.Appeal; a != nil && a.Outcome != "" {
				in.Notices = append(in.Notices, notice{Kind: "appeal", At: a.At, Item: it, Decision: dec, Notified: notified[dec.ID+"/"+a.ID]})
			}
		}
		for i := range it.Responses {
			in.Notices = append(in.Notices, notice{Kind: "answer", At: it.Responses[i].At, Item: it, Response: &it.Responses[i]})
		}
	}
	slices.SortStableFunc(in.Notices, func(a, b notice) int { return b.At.Compare(a.At) })
	c := h.cats[h.language(w, r)]
	p := h.newPage(w, r, c.t("inbox.title"))
	p.Data, p.At = in, view{Latest: true}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "inbox", p)
}
