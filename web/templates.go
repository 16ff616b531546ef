package web

import (
	"html/template"
	"slices"
	"strings"
	"time"

	"github.com/malmo/participation-ledger/domain"
)

// pageNames are the page templates; each is parsed with layout.html into
// its own set per language, so that every page defines "content".
var pageNames = []string{"home", "process", "dialogue", "submission", "trail", "transparency", "verify", "audit",
	"login", "dashboard", "item", "error", "notfound", "signin", "signinerror", "signup", "my",
	"propose", "sent", "inbox", "results", "feedback", "worklist"}

func (h *Handler) parseTemplates() (map[string]map[string]*template.Template, error) {
	out := map[string]map[string]*template.Template{}
	for _, lang := range languages {
		c := h.cats[lang]
		funcs := template.FuncMap{
			"t":    func(key string, args ...any) string { return c.t(key, args...) },
			"enum": func(prefix string, v any) string { return c.enum(prefix, toString(v)) },
			"time": h.timeFmt,
			"date": func(t time.Time) string {
				if t.IsZero() {
					return ""
				}
				return t.In(h.loc).Format("2006-01-02")
			},
			"short": func(s string) string {
				if len(s) > 8 {
					return s[:8]
				}
				return s
			},
			"restricts": func(v domain.Visibility) bool { return v.Restricts() },
			"has": func(vs []string, v string) bool {
				for _, x := range vs {
					if x == v {
						return true
					}
				}
				return false
			},
			"add":     func(a, b int) int { return a + b },
			"percent": func(n, of int) int { return percentOf(n, of) },
			"join":    strings.Join,
			"dict": func(kv ...any) map[string]any {
				m := map[string]any{}
				for i := 0; i+1 < len(kv); i += 2 {
					m[kv[i].(string)] = kv[i+1]
				}
				return m
			},
			"accepts": func(ks []domain.ContributionKind, k string) bool {
				return slices.Contains(ks, domain.ContributionKind(k))
			},
		}
		out[lang] = map[string]*template.Template{}
		for _, name := range pageNames {
			t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
			if err != nil {
				return nil, err
			}
			out[lang][name] = t
		}
	}
	return out, nil
}

func percentOf(n, of int) int {
	if of <= 0 {
		return 0
	}
	return min(100, n*100/of)
}

// toString accepts the string-typed vocabularies of domain (Visibility,
// Ground, …) as well as strings.
func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case domain.Visibility:
		return string(x)
	case domain.Ground:
		return string(x)
	case domain.Category:
		return string(x)
	case domain.Channel:
		return string(x)
	case domain.ProcessKind:
		return string(x)
	case domain.ModerationMode:
		return string(x)
	case domain.ItemKind:
		return string(x)
	case domain.AutomatedDecision:
		return string(x)
	case domain.DecisionSource:
		return string(x)
	case domain.FlagSource:
		return string(x)
	case domain.Role:
		return string(x)
	case domain.ContributionKind:
		return string(x)
	}
	return ""
}
