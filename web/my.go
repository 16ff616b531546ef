package web

import (
	"net/http"

	"github.com/malmo/participation-ledger/auth"
)

// myData is the resident's own page ("Mina sidor").
type myData struct {
	Participant string
	Pseudonym   string
	PublishName bool
	ResearchUse bool
}

// my is the resident's own page.
func (h *Handler) my(w http.ResponseWriter, r *http.Request) {
	sess, ok := h.resident(w, r)
	if !ok {
		return
	}
	st, err := auth.Participant(r.Context(), h.cfg.Store, sess.Principal.Participant)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	c := h.cats[h.language(w, r)]
	p := h.newPage(w, r, c.t("my.title"))
	if r.URL.Query().Get("welcome") != "" {
		p.Flash = c.t("my.welcome", sess.Pseudonym)
	}
	p.Data = myData{Participant: sess.Principal.Participant, Pseudonym: st.Pseudonym, PublishName: st.PublishName, ResearchUse: st.ResearchUse}
	p.At = view{Latest: true}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, "my", p)
}
