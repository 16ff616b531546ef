// Package dsa writes restricting moderation decisions as statements of
// reasons in the DSA Transparency Database's bulk submission format, checks
// them by the database's own rules, and submits them to its API.
//
// The rules in this file were written from the database's public source
// (github.com/digital-services-act/transparency-database, as of June 2026:
// app/Http/Requests/StatementStoreRequest.php, the per-statement rules of
// app/Services/GroupedSubmissionsService.php used by POST /api/v1/statements,
// app/Models/Statement.php's constants, app/Services/EuropeanCountriesService
// and EuropeanLanguagesService, and resources/markdown/api-documentation.md),
// not from what this repository produces:
//
//   - statements: required, an array of 1 to 100 statements; every puid
//     unique within the call (the database also refuses a puid it already
//     has for the platform; only it can check that).
//   - decision_visibility (array of DECISION_VISIBILITY_*), decision_monetary,
//     decision_provision, decision_account: at least one of the four.
//     decision_visibility_other (≤ 500) is required when the visibility list
//     has DECISION_VISIBILITY_OTHER and ignored otherwise;
//     decision_monetary_other (≤ 500) likewise for DECISION_MONETARY_OTHER.
//   - account_type: ACCOUNT_TYPE_BUSINESS | ACCOUNT_TYPE_PRIVATE, optional.
//   - decision_ground: required, DECISION_GROUND_ILLEGAL_CONTENT |
//     DECISION_GROUND_INCOMPATIBLE_CONTENT. Illegal content requires
//     illegal_content_legal_ground (≤ 500) and illegal_content_explanation
//     (≤ 2000); incompatible content requires incompatible_content_ground
//     (≤ 500) and incompatible_content_explanation (≤ 2000), and allows
//     incompatible_content_illegal (Yes | No). The other ground's fields are
//     ignored. decision_ground_reference_url: optional URL, ≤ 500.
//   - content_type: required, a non-empty array of CONTENT_TYPE_*;
//     content_type_other (≤ 500) required with CONTENT_TYPE_OTHER, ignored
//     otherwise.
//   - category: required, one of the 16 current STATEMENT_CATEGORY_* values;
//     category_addition: array of them. category_specification: array of
//     KEYWORD_*; category_specification_other ≤ 500.
//   - territorial_scope: optional array of EU/EEA ISO 3166-1 codes (upper
//     case). content_language: optional upper-case ISO 639-1 code.
//   - content_date: required, YYYY-MM-DD, 2000-01-01 ≤ d ≤ 2038-01-01.
//     application_date: required, YYYY-MM-DD, 2020-01-01 ≤ d ≤ 2038-01-01.
//     end_date_{account,monetary,service,visibility}_restriction: optional,
//     YYYY-MM-DD, ≤ 2038-01-01.
//   - decision_facts: required, ≤ 5000.
//   - source_type: required, SOURCE_ARTICLE_16 | SOURCE_TRUSTED_FLAGGER |
//     SOURCE_TYPE_OTHER_NOTIFICATION | SOURCE_VOLUNTARY; source_identity
//     ≤ 500, optional.
//   - automated_detection: required, Yes | No. automated_decision: required,
//     AUTOMATED_DECISION_FULLY | _PARTIALLY | _NOT_AUTOMATED.
//   - puid: required, ≤ 500, only a-z A-Z 0-9 - _.
//   - content_id: optional object; its EAN-13 a string of 13 digits.
//
// Lengths are in characters. "Required" means present, not null, not blank
// and, for arrays, not empty (Laravel's rule). Fields the database does not
// know are ignored, as it ignores them. Where Laravel would coerce a number
// into a text field, this validator asks for a JSON string: stricter, never
// more lenient.
package dsa

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors are validation messages by field, as the database answers 422.
type Errors map[string][]string

func (e Errors) add(field, format string, args ...any) {
	e[field] = append(e[field], fmt.Sprintf(format, args...))
}

// Fields returns the fields with errors, sorted.
func (e Errors) Fields() []string {
	fs := make([]string, 0, len(e))
	for f := range e {
		fs = append(fs, f)
	}
	sort.Strings(fs)
	return fs
}

// The database's enumerations (app/Models/Statement.php and services).
var (
	decisionVisibilities = []string{"DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
		"DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
		"DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", "DECISION_VISIBILITY_CONTENT_LABELLED", "DECISION_VISIBILITY_OTHER"}
	decisionMonetaries = []string{"DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER"}
	decisionProvisions = []string{"DECISION_PROVISION_PARTIAL_SUSPENSION", "DECISION_PROVISION_TOTAL_SUSPENSION",
		"DECISION_PROVISION_PARTIAL_TERMINATION", "DECISION_PROVISION_TOTAL_TERMINATION"}
	decisionAccounts = []string{"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"}
	accountTypes     = []string{"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"}
	decisionGrounds  = []string{"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"}
	yesNo            = []string{"Yes", "No"}
	contentTypes     = []string{"CONTENT_TYPE_APP", "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_PRODUCT",
		"CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_OTHER"}
	categories = []string{"STATEMENT_CATEGORY_ANIMAL_WELFARE", "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
		"STATEMENT_CATEGORY_CYBER_VIOLENCE", "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
		"STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS", "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
		"STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
		"STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS", "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
		"STATEMENT_CATEGORY_OTHER_VIOLATION_TC", "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
		"STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY", "STATEMENT_CATEGORY_SCAMS_AND_FRAUD", "STATEMENT_CATEGORY_SELF_HARM",
		"STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS", "STATEMENT_CATEGORY_VIOLENCE"}
	sourceTypes        = []string{"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY"}
	automatedDecisions = []string{"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY", "AUTOMATED_DECISION_NOT_AUTOMATED"}
	// EU and EEA states (EuropeanCountriesService::EUROPEAN_COUNTRY_CODES).
	countries = []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
		"IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"}
	// ISO 639-1 codes in upper case (EuropeanLanguagesService::ALL_LANGUAGES).
	languages = strings.Fields(`AB AA AF AK SQ AM AR AN HY AS AV AE AY AZ BM BA EU BE BN BH BI BS BR BG MY CA KM CH CE NY
		ZH CU CV KW CO CR HR CS DA DV NL DZ EN EO ET EE FO FJ FI FR FF GD GL LG KA DE KI EL KL GN GU HT HA HE HZ HI HO HU IS
		IO IG ID IA IE IU IK GA IT JA JV KN KR KS KK RW KV KG KO KJ KU KY LO LA LV LB LI LN LT LU MK MG MS ML MT GV MI MR MH
		RO MN NA NV ND NG NE SE NO NB NN II OC OJ OR OM OS PI PA PS FA PL PT QU RM RN RU SM SG SA SC SR SN SD SI SK SL SO ST
		NR ES SU SW SS SV TL TY TG TA TT TE TH BO TI TO TS TN TR TK TW UG UK UR UZ VE VI VO WA CY FY WO XH YI YO ZA ZU`)
	keywords = strings.Fields(`KEYWORD_ADULT_SEXUAL_MATERIAL KEYWORD_AGE_SPECIFIC_RESTRICTIONS
		KEYWORD_AGE_SPECIFIC_RESTRICTIONS_MINORS KEYWORD_ANIMAL_HARM KEYWORD_BIOMETRIC_DATA_BREACH
		KEYWORD_BULLYING_AGAINST_GIRLS KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE
		KEYWORD_CONTENT_PROMOTING_EATING_DISORDERS KEYWORD_COORDINATED_HARM KEYWORD_COPYRIGHT_INFRINGEMENT
		KEYWORD_CYBER_BULLYING_INTIMIDATION KEYWORD_CYBER_HARASSMENT KEYWORD_CYBER_HARASSMENT_AGAINST_WOMEN
		KEYWORD_CYBER_INCITEMENT KEYWORD_CYBER_STALKING KEYWORD_CYBER_STALKING_AGAINST_WOMEN KEYWORD_DATA_FALSIFICATION
		KEYWORD_DEFAMATION KEYWORD_DESIGN_INFRINGEMENT KEYWORD_DISCRIMINATION KEYWORD_FEMALE_GENDERED_DISINFORMATION
		KEYWORD_GEOGRAPHIC_INDICATIONS_INFRINGEMENT KEYWORD_GEOGRAPHICAL_REQUIREMENTS KEYWORD_GOODS_SERVICES_NOT_PERMITTED
		KEYWORD_GROOMING_SEXUAL_ENTICEMENT_MINORS KEYWORD_HATE_SPEECH KEYWORD_HIDDEN_ADVERTISEMENT
		KEYWORD_HUMAN_EXPLOITATION KEYWORD_HUMAN_TRAFFICKING KEYWORD_ILLEGAL_ORGANIZATIONS
		KEYWORD_IMPERSONATION_ACCOUNT_HIJACKING KEYWORD_INAUTHENTIC_ACCOUNTS KEYWORD_INAUTHENTIC_LISTINGS
		KEYWORD_INAUTHENTIC_USER_REVIEWS KEYWORD_INCITEMENT_AGAINST_WOMEN KEYWORD_INCITEMENT_VIOLENCE_HATRED
		KEYWORD_INSUFFICIENT_INFORMATION_ON_TRADERS KEYWORD_LANGUAGE_REQUIREMENTS KEYWORD_MISINFORMATION_DISINFORMATION
		KEYWORD_MISLEADING_INFO_CONSUMER_RIGHTS KEYWORD_MISLEADING_INFO_GOODS_SERVICES KEYWORD_MISSING_PROCESSING_GROUND
		KEYWORD_NON_CONSENSUAL_IMAGE_SHARING KEYWORD_NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN
		KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN
		KEYWORD_NONCOMPLIANCE_PRICING KEYWORD_NUDITY KEYWORD_PATENT_INFRINGEMENT KEYWORD_PHISHING
		KEYWORD_PROHIBITED_PRODUCTS KEYWORD_PYRAMID_SCHEMES KEYWORD_RIGHT_TO_BE_FORGOTTEN KEYWORD_RISK_ENVIRONMENTAL_DAMAGE
		KEYWORD_RISK_PUBLIC_HEALTH KEYWORD_SELF_MUTILATION KEYWORD_STALKING KEYWORD_SUICIDE KEYWORD_TERRORIST_CONTENT
		KEYWORD_TRADE_SECRET_INFRINGEMENT KEYWORD_TRADEMARK_INFRINGEMENT KEYWORD_TRAFFICKING_WOMEN_GIRLS
		KEYWORD_UNLAWFUL_SALE_ANIMALS KEYWORD_UNSAFE_CHALLENGES KEYWORD_UNSAFE_PRODUCTS KEYWORD_VIOLATION_EU_LAW
		KEYWORD_VIOLATION_NATIONAL_LAW KEYWORD_OTHER`)

	puidPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)
	eanPattern  = regexp.MustCompile(`^[0-9]{13}$`)
)

// MaxBatch is how many statements one call to the bulk endpoint takes.
const MaxBatch = 100

// ValidateBulk checks a bulk submission body ({"statements": [...]}) as
// POST /api/v1/statements does. Call-level errors are under "statements"
// and "puid"; a statement's errors under "statement_<index>", as the
// database reports them. A body that is not a JSON object is an error.
func ValidateBulk(body []byte) (map[string]Errors, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || top == nil {
		return nil, fmt.Errorf("dsa: the body is not a JSON object: %v", err)
	}
	out := map[string]Errors{}
	var list []json.RawMessage
	raw, ok := top["statements"]
	if !ok || string(raw) == "null" {
		out["statements"] = Errors{"statements": {"The statements field is required."}}
		return out, nil
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		out["statements"] = Errors{"statements": {"The statements field must be an array."}}
		return out, nil
	}
	if len(list) < 1 || len(list) > MaxBatch {
		out["statements"] = Errors{"statements": {fmt.Sprintf("The statements field must have between 1 and %d items.", MaxBatch)}}
		return out, nil
	}
	seen := map[string]bool{}
	var dup []string
	for i, r := range list {
		var st map[string]any
		if err := json.Unmarshal(r, &st); err != nil || st == nil {
			out[fmt.Sprintf("statement_%d", i)] = Errors{"statement": {"The statement must be a JSON object."}}
			continue
		}
		if e := Validate(st); len(e) > 0 {
			out[fmt.Sprintf("statement_%d", i)] = e
		}
		if p, ok := st["puid"].(string); ok {
			if seen[p] && !slices.Contains(dup, p) {
				dup = append(dup, p)
			}
			seen[p] = true
		}
	}
	if len(dup) > 0 {
		out["puid"] = Errors{"puid": {"The platform identifier(s) are not all unique within this call: " + strings.Join(dup, ", ")}}
	}
	return out, nil
}

// Validate checks one statement (a decoded JSON object) by the database's
// rules and returns the errors by field; none means it would be accepted.
func Validate(st map[string]any) Errors {
	e := Errors{}
	v := fields{st: st, e: e}

	// What the decision restricts: at least one of the four.
	if v.empty("decision_visibility") && v.empty("decision_monetary") && v.empty("decision_provision") && v.empty("decision_account") {
		for _, f := range []string{"decision_visibility", "decision_monetary", "decision_provision", "decision_account"} {
			e.add(f, "The %s field is required when none of the other decision fields are present.", f)
		}
	}
	visibility := v.list("decision_visibility", decisionVisibilities, false)
	if slices.Contains(visibility, "DECISION_VISIBILITY_OTHER") {
		v.text("decision_visibility_other", true, 500)
	}
	if v.enum("decision_monetary", decisionMonetaries, false) == "DECISION_MONETARY_OTHER" {
		v.text("decision_monetary_other", true, 500)
	}
	v.enum("decision_provision", decisionProvisions, false)
	v.enum("decision_account", decisionAccounts, false)
	v.enum("account_type", accountTypes, false)
	v.list("category_specification", keywords, false)
	v.text("category_specification_other", false, 500)

	// The ground and its explanation.
	switch v.enum("decision_ground", decisionGrounds, true) {
	case "DECISION_GROUND_ILLEGAL_CONTENT":
		v.text("illegal_content_legal_ground", true, 500)
		v.text("illegal_content_explanation", true, 2000)
	case "DECISION_GROUND_INCOMPATIBLE_CONTENT":
		v.text("incompatible_content_ground", true, 500)
		v.text("incompatible_content_explanation", true, 2000)
		v.enum("incompatible_content_illegal", yesNo, false)
	}
	if u := v.text("decision_ground_reference_url", false, 500); u != "" {
		if p, err := url.Parse(u); err != nil || p.Scheme == "" || p.Host == "" {
			e.add("decision_ground_reference_url", "The decision ground reference url field must be a valid URL.")
		}
	}

	// The content.
	if slices.Contains(v.list("content_type", contentTypes, true), "CONTENT_TYPE_OTHER") {
		v.text("content_type_other", true, 500)
	}
	v.enum("category", categories, true)
	v.list("category_addition", categories, false)
	v.list("territorial_scope", countries, false)
	v.enum("content_language", languages, false)
	if id, ok := st["content_id"]; ok && id != nil {
		obj, ok := id.(map[string]any)
		if !ok {
			e.add("content_id", "The content id field must be an object.")
		} else if ean, ok := obj["EAN-13"]; ok {
			if s, ok := ean.(string); !ok || !eanPattern.MatchString(s) {
				e.add("content_id.EAN-13", "The content id EAN-13 must be 13 digits.")
			}
		}
	}

	// Dates.
	v.date("content_date", true, "2000-01-01")
	v.date("application_date", true, "2020-01-01")
	for _, f := range []string{"end_date_account_restriction", "end_date_monetary_restriction",
		"end_date_service_restriction", "end_date_visibility_restriction"} {
		v.date(f, false, "")
	}

	// Facts, source, automation, identifier.
	v.text("decision_facts", true, 5000)
	if v.enum("source_type", sourceTypes, true) != "SOURCE_VOLUNTARY" {
		v.text("source_identity", false, 500)
	}
	v.enum("automated_detection", yesNo, true)
	v.enum("automated_decision", automatedDecisions, true)
	if p := v.text("puid", true, 500); p != "" && !puidPattern.MatchString(p) {
		e.add("puid", "The puid format is invalid.")
	}
	return e
}

// fields reads and checks the fields of one statement.
type fields struct {
	st map[string]any
	e  Errors
}

// empty is Laravel's "not present": missing, null, blank or an empty array.
func (v fields) empty(f string) bool {
	switch x := v.st[f].(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	}
	return false
}

// text checks a free-text field and returns it ("" when absent).
func (v fields) text(f string, required bool, max int) string {
	if v.empty(f) {
		if required {
			v.e.add(f, "The %s field is required.", strings.ReplaceAll(f, "_", " "))
		}
		return ""
	}
	s, ok := v.st[f].(string)
	if !ok {
		v.e.add(f, "The %s field must be a string.", strings.ReplaceAll(f, "_", " "))
		return ""
	}
	if n := utf8.RuneCountInString(s); n > max {
		v.e.add(f, "The %s field must not be greater than %d characters (it has %d).", strings.ReplaceAll(f, "_", " "), max, n)
	}
	return s
}

// enum checks a single value from allowed and returns it ("" when absent
// or not allowed).
func (v fields) enum(f string, allowed []string, required bool) string {
	if v.empty(f) {
		if required {
			v.e.add(f, "The %s field is required.", strings.ReplaceAll(f, "_", " "))
		}
		return ""
	}
	s, ok := v.st[f].(string)
	if !ok || !slices.Contains(allowed, s) {
		v.e.add(f, "The selected %s is invalid.", strings.ReplaceAll(f, "_", " "))
		return ""
	}
	return s
}

// list checks an array of values from allowed and returns the valid ones.
func (v fields) list(f string, allowed []string, required bool) []string {
	if v.empty(f) {
		if required {
			v.e.add(f, "The %s field is required.", strings.ReplaceAll(f, "_", " "))
		}
		return nil
	}
	xs, ok := v.st[f].([]any)
	if !ok {
		v.e.add(f, "The %s field must be an array.", strings.ReplaceAll(f, "_", " "))
		return nil
	}
	var out []string
	for _, x := range xs {
		s, ok := x.(string)
		if !ok || !slices.Contains(allowed, s) {
			v.e.add(f, "The selected %s is invalid.", strings.ReplaceAll(f, "_", " "))
			return nil
		}
		out = append(out, s)
	}
	return out
}

// date checks a YYYY-MM-DD date no earlier than min ("" for none) and no
// later than 2038-01-01.
func (v fields) date(f string, required bool, min string) {
	if v.empty(f) {
		if required {
			v.e.add(f, "The %s field is required.", strings.ReplaceAll(f, "_", " "))
		}
		return
	}
	s, ok := v.st[f].(string)
	d, err := time.Parse(time.DateOnly, s)
	if !ok || err != nil || d.Format(time.DateOnly) != s {
		v.e.add(f, "The %s does not match the format YYYY-MM-DD.", strings.ReplaceAll(f, "_", " "))
		return
	}
	if min != "" && s < min {
		v.e.add(f, "The %s must be a date after or equal to %s.", strings.ReplaceAll(f, "_", " "), min)
	}
	if s > "2038-01-01" {
		v.e.add(f, "The %s must be a date before or equal to 2038-01-01.", strings.ReplaceAll(f, "_", " "))
	}
}
