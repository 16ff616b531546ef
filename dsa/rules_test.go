package dsa

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// valid is a statement written by hand after the database's API
// documentation example, not produced by this package.
func valid() map[string]any {
	return map[string]any{
		"decision_visibility":              []any{"DECISION_VISIBILITY_CONTENT_DISABLED"},
		"decision_ground":                  "DECISION_GROUND_INCOMPATIBLE_CONTENT",
		"incompatible_content_ground":      "Terms 4.2",
		"incompatible_content_explanation": "Personal attack on a named neighbour.",
		"content_type":                     []any{"CONTENT_TYPE_TEXT"},
		"category":                         "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
		"territorial_scope":                []any{"SE", "NO"},
		"content_language":                 "SV",
		"content_date":                     "2024-09-09",
		"application_date":                 "2024-09-10",
		"decision_facts":                   "The post names a neighbour as a criminal.",
		"source_type":                      "SOURCE_ARTICLE_16",
		"automated_detection":              "No",
		"automated_decision":               "AUTOMATED_DECISION_NOT_AUTOMATED",
		"puid":                             "TK421-a_b",
	}
}

func TestValidStatement(t *testing.T) {
	if e := Validate(valid()); len(e) > 0 {
		t.Fatalf("the documented example is refused: %v", e)
	}
}

// TestEachRule breaks one rule at a time and expects exactly the field it
// concerns to be reported.
func TestEachRule(t *testing.T) {
	long := func(n int) string { return strings.Repeat("ä", n) }
	cases := []struct {
		name   string
		change func(m map[string]any)
		field  string // "" when the statement stays valid
	}{
		// What is restricted.
		{"no restriction at all", func(m map[string]any) { delete(m, "decision_visibility") }, "decision_visibility"},
		{"empty visibility list", func(m map[string]any) { m["decision_visibility"] = []any{} }, "decision_visibility"},
		{"visibility not a list", func(m map[string]any) { m["decision_visibility"] = "DECISION_VISIBILITY_CONTENT_DISABLED" }, "decision_visibility"},
		{"unknown visibility", func(m map[string]any) { m["decision_visibility"] = []any{"DECISION_VISIBILITY_HIDDEN"} }, "decision_visibility"},
		{"lower-case visibility", func(m map[string]any) { m["decision_visibility"] = []any{"content_disabled"} }, "decision_visibility"},
		{"account restriction instead", func(m map[string]any) {
			delete(m, "decision_visibility")
			m["decision_account"] = "DECISION_ACCOUNT_SUSPENDED"
		}, ""},
		{"unknown account decision", func(m map[string]any) { m["decision_account"] = "DECISION_ACCOUNT_BANNED" }, "decision_account"},
		{"unknown provision decision", func(m map[string]any) { m["decision_provision"] = "X" }, "decision_provision"},
		{"visibility other without text", func(m map[string]any) {
			m["decision_visibility"] = []any{"DECISION_VISIBILITY_OTHER"}
		}, "decision_visibility_other"},
		{"visibility other with text", func(m map[string]any) {
			m["decision_visibility"] = []any{"DECISION_VISIBILITY_OTHER"}
			m["decision_visibility_other"] = "Shown only to the author"
		}, ""},
		{"visibility other over 500", func(m map[string]any) {
			m["decision_visibility"] = []any{"DECISION_VISIBILITY_OTHER"}
			m["decision_visibility_other"] = long(501)
		}, "decision_visibility_other"},
		{"monetary other without text", func(m map[string]any) { m["decision_monetary"] = "DECISION_MONETARY_OTHER" }, "decision_monetary_other"},
		{"unknown account type", func(m map[string]any) { m["account_type"] = "ACCOUNT_TYPE_CITY" }, "account_type"},
		{"unknown keyword", func(m map[string]any) { m["category_specification"] = []any{"KEYWORD_RUDE"} }, "category_specification"},
		{"known keyword", func(m map[string]any) { m["category_specification"] = []any{"KEYWORD_DEFAMATION"} }, ""},

		// Ground.
		{"no ground", func(m map[string]any) { delete(m, "decision_ground") }, "decision_ground"},
		{"unknown ground", func(m map[string]any) { m["decision_ground"] = "DECISION_GROUND_RUDE" }, "decision_ground"},
		{"incompatible without clause", func(m map[string]any) { delete(m, "incompatible_content_ground") }, "incompatible_content_ground"},
		{"incompatible without explanation", func(m map[string]any) { m["incompatible_content_explanation"] = "  " }, "incompatible_content_explanation"},
		{"incompatible explanation 2000", func(m map[string]any) { m["incompatible_content_explanation"] = long(2000) }, ""},
		{"incompatible explanation 2001", func(m map[string]any) { m["incompatible_content_explanation"] = long(2001) }, "incompatible_content_explanation"},
		{"incompatible ground 501", func(m map[string]any) { m["incompatible_content_ground"] = long(501) }, "incompatible_content_ground"},
		{"incompatible illegal maybe", func(m map[string]any) { m["incompatible_content_illegal"] = "Maybe" }, "incompatible_content_illegal"},
		{"illegal without legal ground", func(m map[string]any) {
			m["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
			m["illegal_content_explanation"] = "An unlawful threat."
		}, "illegal_content_legal_ground"},
		{"illegal without explanation", func(m map[string]any) {
			m["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
			m["illegal_content_legal_ground"] = "Brottsbalken 4:5"
		}, "illegal_content_explanation"},
		{"illegal with its fields", func(m map[string]any) {
			m["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
			m["illegal_content_legal_ground"] = "Brottsbalken 4:5"
			m["illegal_content_explanation"] = "An unlawful threat."
		}, ""},
		{"illegal explanation 2001", func(m map[string]any) {
			m["decision_ground"] = "DECISION_GROUND_ILLEGAL_CONTENT"
			m["illegal_content_legal_ground"] = "Brottsbalken 4:5"
			m["illegal_content_explanation"] = long(2001)
		}, "illegal_content_explanation"},
		{"other ground's field ignored", func(m map[string]any) { m["illegal_content_explanation"] = long(3000) }, ""},
		{"reference url not a url", func(m map[string]any) { m["decision_ground_reference_url"] = "terms" }, "decision_ground_reference_url"},
		{"reference url", func(m map[string]any) { m["decision_ground_reference_url"] = "https://malmo.se/villkor" }, ""},

		// Content.
		{"no content type", func(m map[string]any) { delete(m, "content_type") }, "content_type"},
		{"empty content type", func(m map[string]any) { m["content_type"] = []any{} }, "content_type"},
		{"content type not a list", func(m map[string]any) { m["content_type"] = "CONTENT_TYPE_TEXT" }, "content_type"},
		{"unknown content type", func(m map[string]any) { m["content_type"] = []any{"CONTENT_TYPE_TEXT", "CONTENT_TYPE_MAP"} }, "content_type"},
		{"content type other without text", func(m map[string]any) { m["content_type"] = []any{"CONTENT_TYPE_OTHER"} }, "content_type_other"},
		{"content type other with text", func(m map[string]any) {
			m["content_type"] = []any{"CONTENT_TYPE_OTHER"}
			m["content_type_other"] = "A map"
		}, ""},
		{"no category", func(m map[string]any) { delete(m, "category") }, "category"},
		{"retired category", func(m map[string]any) { m["category"] = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE" }, "category"},
		{"retired category 2", func(m map[string]any) { m["category"] = "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR" }, "category"},
		{"current category", func(m map[string]any) { m["category"] = "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE" }, ""},
		{"unknown additional category", func(m map[string]any) { m["category_addition"] = []any{"STATEMENT_CATEGORY_X"} }, "category_addition"},
		{"scope outside the EEA", func(m map[string]any) { m["territorial_scope"] = []any{"SE", "GB"} }, "territorial_scope"},
		{"scope lower case", func(m map[string]any) { m["territorial_scope"] = []any{"se"} }, "territorial_scope"},
		{"no scope", func(m map[string]any) { delete(m, "territorial_scope") }, ""},
		{"language lower case", func(m map[string]any) { m["content_language"] = "sv" }, "content_language"},
		{"language not ISO 639-1", func(m map[string]any) { m["content_language"] = "SWE" }, "content_language"},
		{"no language", func(m map[string]any) { delete(m, "content_language") }, ""},
		{"EAN-13 of 12 digits", func(m map[string]any) { m["content_id"] = map[string]any{"EAN-13": "012345678912"} }, "content_id.EAN-13"},
		{"EAN-13", func(m map[string]any) { m["content_id"] = map[string]any{"EAN-13": "0123456789123"} }, ""},

		// Dates.
		{"no content date", func(m map[string]any) { delete(m, "content_date") }, "content_date"},
		{"content date timestamp", func(m map[string]any) { m["content_date"] = "2024-09-09T10:00:00Z" }, "content_date"},
		{"content date no leading zero", func(m map[string]any) { m["content_date"] = "2024-9-9" }, "content_date"},
		{"content date 30 February", func(m map[string]any) { m["content_date"] = "2024-02-30" }, "content_date"},
		{"content date 1999", func(m map[string]any) { m["content_date"] = "1999-12-31" }, "content_date"},
		{"content date 2000-01-01", func(m map[string]any) { m["content_date"] = "2000-01-01" }, ""},
		{"content date 2038-01-02", func(m map[string]any) { m["content_date"] = "2038-01-02" }, "content_date"},
		{"no application date", func(m map[string]any) { delete(m, "application_date") }, "application_date"},
		{"application date 2019", func(m map[string]any) { m["application_date"] = "2019-12-31" }, "application_date"},
		{"application date 2038-01-01", func(m map[string]any) { m["application_date"] = "2038-01-01" }, ""},
		{"end date format", func(m map[string]any) { m["end_date_visibility_restriction"] = "31/12/2025" }, "end_date_visibility_restriction"},
		{"end date 2039", func(m map[string]any) { m["end_date_visibility_restriction"] = "2039-01-01" }, "end_date_visibility_restriction"},
		{"end date null", func(m map[string]any) { m["end_date_visibility_restriction"] = nil }, ""},

		// Facts, source, automation, identifier.
		{"no facts", func(m map[string]any) { delete(m, "decision_facts") }, "decision_facts"},
		{"facts 5000", func(m map[string]any) { m["decision_facts"] = long(5000) }, ""},
		{"facts 5001", func(m map[string]any) { m["decision_facts"] = long(5001) }, "decision_facts"},
		{"facts a number", func(m map[string]any) { m["decision_facts"] = 42.0 }, "decision_facts"},
		{"no source", func(m map[string]any) { delete(m, "source_type") }, "source_type"},
		{"unknown source", func(m map[string]any) { m["source_type"] = "SOURCE_RESIDENT" }, "source_type"},
		{"source identity 501", func(m map[string]any) { m["source_identity"] = long(501) }, "source_identity"},
		{"source identity ignored when voluntary", func(m map[string]any) {
			m["source_type"] = "SOURCE_VOLUNTARY"
			m["source_identity"] = long(501)
		}, ""},
		{"automated detection boolean", func(m map[string]any) { m["automated_detection"] = true }, "automated_detection"},
		{"automated detection lower case", func(m map[string]any) { m["automated_detection"] = "yes" }, "automated_detection"},
		{"no automated detection", func(m map[string]any) { delete(m, "automated_detection") }, "automated_detection"},
		{"no automated decision", func(m map[string]any) { delete(m, "automated_decision") }, "automated_decision"},
		{"unknown automated decision", func(m map[string]any) { m["automated_decision"] = "maybe" }, "automated_decision"},
		{"no puid", func(m map[string]any) { delete(m, "puid") }, "puid"},
		{"puid with a space", func(m map[string]any) { m["puid"] = "a b" }, "puid"},
		{"puid with a dot", func(m map[string]any) { m["puid"] = "a.b" }, "puid"},
		{"puid with a newline", func(m map[string]any) { m["puid"] = "ab\n" }, "puid"},
		{"puid 501", func(m map[string]any) { m["puid"] = strings.Repeat("a", 501) }, "puid"},
		{"puid uuid", func(m map[string]any) { m["puid"] = "3f6c1d2e-1a2b-4c3d-9e8f-0123456789ab" }, ""},
		{"unknown field ignored", func(m map[string]any) { m["colour"] = "red" }, ""},
	}
	for _, c := range cases {
		m := valid()
		c.change(m)
		e := Validate(m)
		switch {
		case c.field == "" && len(e) > 0:
			t.Errorf("%s: refused: %v", c.name, e)
		case c.field != "" && len(e[c.field]) == 0:
			t.Errorf("%s: %s not reported (errors %v)", c.name, c.field, e)
		case c.field != "" && len(e) != 1 && c.field != "decision_visibility":
			t.Errorf("%s: more than %s reported: %v", c.name, c.field, e)
		}
	}
}

func TestBulkRules(t *testing.T) {
	body := func(n int, puid func(i int) string) []byte {
		var sts []map[string]any
		for i := range n {
			m := valid()
			m["puid"] = puid(i)
			sts = append(sts, m)
		}
		b, err := json.Marshal(map[string]any{"statements": sts})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unique := func(i int) string { return fmt.Sprintf("d%d", i) }
	for _, c := range []struct {
		name string
		body []byte
		keys []string
	}{
		{"one", body(1, unique), nil},
		{"a hundred", body(100, unique), nil},
		{"a hundred and one", body(101, unique), []string{"statements"}},
		{"none", []byte(`{"statements":[]}`), []string{"statements"}},
		{"missing", []byte(`{}`), []string{"statements"}},
		{"not a list", []byte(`{"statements":{"a":1}}`), []string{"statements"}},
		{"duplicate puid", body(3, func(i int) string { return "same" }), []string{"puid"}},
		{"one bad statement", []byte(`{"statements":[{"puid":"x"}]}`), []string{"statement_0"}},
		{"a statement not an object", []byte(`{"statements":[7]}`), []string{"statement_0"}},
	} {
		errs, err := ValidateBulk(c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var keys []string
		for k := range errs {
			keys = append(keys, k)
		}
		if fmt.Sprint(keys) != fmt.Sprint(c.keys) && !(len(keys) == 0 && len(c.keys) == 0) {
			t.Errorf("%s: errors under %v, want %v: %v", c.name, keys, c.keys, errs)
		}
	}
	if _, err := ValidateBulk([]byte(`[1]`)); err == nil {
		t.Error("a body that is not an object is accepted")
	}
}

func FuzzValidateBulk(f *testing.F) {
	b, _ := json.Marshal(map[string]any{"statements": []any{valid()}})
	f.Add(b)
	f.Add([]byte(`{"statements":[{"content_type":[1,null,{}],"puid":7}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = ValidateBulk(body) // must not panic
	})
}
