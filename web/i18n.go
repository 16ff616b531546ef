package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

//go:embed messages/*.json
var messageFS embed.FS

// languages are the catalogues, the first being the default: Swedish is
// the municipality's language.
var languages = []string{"sv", "en"}

// catalogue maps message keys to texts (fmt patterns where they take
// arguments).
type catalogue map[string]string

func loadCatalogues() (map[string]catalogue, error) {
	out := map[string]catalogue{}
	for _, l := range languages {
		b, err := messageFS.ReadFile("messages/" + l + ".json")
		if err != nil {
			return nil, err
		}
		c := catalogue{}
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("web: messages/%s.json: %w", l, err)
		}
		out[l] = c
	}
	return out, nil
}

// t returns the text of key with args formatted in; a missing key shows
// itself in brackets, so a gap is visible rather than blank (and the
// catalogue test fails).
func (c catalogue) t(key string, args ...any) string {
	s, ok := c[key]
	if !ok {
		return "[" + key + "]"
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// enum translates a value of a closed vocabulary (visibility, ground,
// category, event type …) under prefix; unknown values show as they are,
// since they come from the log and may be newer than this binary.
func (c catalogue) enum(prefix, value string) string {
	if value == "" {
		return ""
	}
	if s, ok := c[prefix+"."+value]; ok {
		return s
	}
	return value
}

func other(lang string) string {
	if lang == "sv" {
		return "en"
	}
	return "sv"
}

const langCookie = "ledger_lang"

// language picks the page language: ?lang= (the switch, remembered in a
// cookie), then the cookie, then Accept-Language, then Swedish.
func (h *Handler) language(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); known(l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
			SameSite: http.SameSiteLaxMode, Secure: h.cfg.SecureCookies, HttpOnly: true})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && known(c.Value) {
		return c.Value
	}
	return negotiate(r.Header.Get("Accept-Language"))
}

func known(l string) bool { return l == "sv" || l == "en" }

// negotiate returns the best of our languages for an Accept-Language
// header (RFC 9110 §12.5.4: q-values, primary subtags), Swedish when none
// fits. Norwegian and Danish readers get Swedish rather than English.
func negotiate(header string) string {
	type pref struct {
		lang string
		q    float64
		i    int
	}
	var prefs []pref
	for i, part := range strings.Split(header, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.ToLower(strings.TrimSpace(tag))
		if tag == "" {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		primary, _, _ := strings.Cut(tag, "-")
		switch primary {
		case "sv", "nb", "nn", "no", "da":
			primary = "sv"
		case "en":
		case "*":
			primary = "sv"
		default:
			continue
		}
		if q > 0 {
			prefs = append(prefs, pref{primary, q, i})
		}
	}
	sort.SliceStable(prefs, func(a, b int) bool { return prefs[a].q > prefs[b].q })
	if len(prefs) > 0 {
		return prefs[0].lang
	}
	return "sv"
}
