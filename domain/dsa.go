package domain

import (
	"slices"
	"strings"
)

// The moderation vocabulary follows the DSA Transparency Database's
// statement-of-reasons schema; values are its enum names in lower case
// without the prefix, so DSA() can restore them for a comparable export.

// Visibility is what a decision does to an item's visibility.
type Visibility string

// Visibility decisions. Nothing is ever deleted: "content_disabled" hides
// the content from public views, and the ledger keeps it.
const (
	VisibilityApproved              Visibility = "approved" // pre-moderation: publish (no restriction)
	VisibilityNoAction              Visibility = "no_action"
	VisibilityDisabled              Visibility = "content_disabled" // hidden
	VisibilityDemoted               Visibility = "content_demoted"
	VisibilityInteractionRestricted Visibility = "content_interaction_restricted"
	VisibilityLabelled              Visibility = "content_labelled"
	VisibilityRestored              Visibility = "restored" // lifts an earlier restriction
)

// Restricts reports whether v restricts the content, which is when a
// statement of reasons (ground, category) is required.
func (v Visibility) Restricts() bool {
	switch v {
	case VisibilityDisabled, VisibilityDemoted, VisibilityInteractionRestricted, VisibilityLabelled:
		return true
	}
	return false
}

func (v Visibility) valid() bool {
	return v.Restricts() || v == VisibilityApproved || v == VisibilityNoAction || v == VisibilityRestored
}

// DSA returns the DSA Transparency Database decision_visibility value, or
// "" for decisions that restrict nothing (and so need no statement there).
func (v Visibility) DSA() string {
	if !v.Restricts() {
		return ""
	}
	return "DECISION_VISIBILITY_" + strings.ToUpper(string(v))
}

// Ground is the decision ground.
type Ground string

// Decision grounds.
const (
	GroundIllegal      Ground = "illegal_content"
	GroundIncompatible Ground = "incompatible_content" // incompatible with the terms
)

// DSA returns the decision_ground value.
func (g Ground) DSA() string {
	if g == "" {
		return ""
	}
	return "DECISION_GROUND_" + strings.ToUpper(string(g))
}

// Category is a DSA statement category.
type Category string

// DSA statement categories, the database's list since its schema update of
// 1 July 2025 (API documentation, "Changelog").
const (
	CategoryAnimalWelfare          Category = "animal_welfare"
	CategoryConsumerInformation    Category = "consumer_information"
	CategoryCyberViolence          Category = "cyber_violence"
	CategoryCyberViolenceAgainstW  Category = "cyber_violence_against_women"
	CategoryDataProtection         Category = "data_protection_and_privacy_violations"
	CategoryIllegalOrHarmfulSpeech Category = "illegal_or_harmful_speech"
	CategoryIntellectualProperty   Category = "intellectual_property_infringements"
	CategoryCivicDiscourse         Category = "negative_effects_on_civic_discourse_or_elections"
	CategoryNotSpecifiedNotice     Category = "not_specified_notice" // the notifier did not say what is illegal
	CategoryOtherViolationTC       Category = "other_violation_tc"
	CategoryProtectionOfMinors     Category = "protection_of_minors"
	CategoryPublicSecurity         Category = "risk_for_public_security"
	CategoryScams                  Category = "scams_and_fraud"
	CategorySelfHarm               Category = "self_harm"
	CategoryUnsafeProducts         Category = "unsafe_and_prohibited_products"
	CategoryViolence               Category = "violence"
)

// CategoryNeedsReview is not a DSA category: it is what an upcast event
// carries when its recorded category was retired by the database without a
// one-to-one replacement ("non_consensual_behaviour",
// "pornography_or_sexualized_content"). The recorded value is kept in the
// event's retired_category; a moderator must choose the current category.
// No command accepts it, and statements carrying it are not exported.
const CategoryNeedsReview Category = "needs_review"

// Categories returns every current category.
func Categories() []Category {
	return []Category{CategoryAnimalWelfare, CategoryConsumerInformation, CategoryCyberViolence,
		CategoryCyberViolenceAgainstW, CategoryDataProtection, CategoryIllegalOrHarmfulSpeech,
		CategoryIntellectualProperty, CategoryCivicDiscourse, CategoryNotSpecifiedNotice, CategoryOtherViolationTC,
		CategoryProtectionOfMinors, CategoryPublicSecurity, CategoryScams, CategorySelfHarm,
		CategoryUnsafeProducts, CategoryViolence}
}

func (c Category) valid() bool {
	for _, k := range Categories() {
		if c == k {
			return true
		}
	}
	return false
}

// retiredCategories maps the categories the database retired on 1 July 2025
// to their replacement, as its changelog's correspondence table does; ""
// where the table gives none (those become CategoryNeedsReview).
var retiredCategories = map[Category]Category{
	"unsafe_and_illegal_products":       CategoryUnsafeProducts,
	"scope_of_platform_service":         CategoryOtherViolationTC,
	"non_consensual_behaviour":          "",
	"pornography_or_sexualized_content": "",
}

// Retired reports whether c is a category the database no longer accepts
// and what replaces it: a current category, or CategoryNeedsReview.
func (c Category) Retired() (replacement Category, retired bool) {
	r, ok := retiredCategories[c]
	if !ok {
		return c, false
	}
	if r == "" {
		return CategoryNeedsReview, true
	}
	return r, true
}

// Current returns c in the current vocabulary: itself, its replacement, or
// CategoryNeedsReview. Reports use it so that no retired value shows.
func (c Category) Current() Category {
	r, _ := c.Retired()
	return r
}

// DSA returns the category value, or "" for a value the database does not
// accept (CategoryNeedsReview, retired or unknown ones).
func (c Category) DSA() string {
	if !c.valid() {
		return ""
	}
	return "STATEMENT_CATEGORY_" + strings.ToUpper(string(c))
}

// ContentType is the kind of content a decision is about.
type ContentType string

// DSA content types. Everything the ledger stores is text; the others are
// for text that carries or links to such content.
const (
	ContentText           ContentType = "text"
	ContentImage          ContentType = "image"
	ContentVideo          ContentType = "video"
	ContentAudio          ContentType = "audio"
	ContentSyntheticMedia ContentType = "synthetic_media"
	ContentProduct        ContentType = "product"
	ContentApp            ContentType = "app"
	ContentOther          ContentType = "other" // described in content_type_other
)

// ContentTypes returns every content type.
func ContentTypes() []ContentType {
	return []ContentType{ContentText, ContentImage, ContentVideo, ContentAudio, ContentSyntheticMedia,
		ContentProduct, ContentApp, ContentOther}
}

func (t ContentType) valid() bool {
	for _, k := range ContentTypes() {
		if t == k {
			return true
		}
	}
	return false
}

// DSA returns the content_type value.
func (t ContentType) DSA() string { return "CONTENT_TYPE_" + strings.ToUpper(string(t)) }

// EEA is the territorial scope "the whole EU/EEA": the ISO 3166-1 codes of
// the EU and EEA states, the values the database accepts.
func EEA() []string {
	return []string{"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IS",
		"IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK"}
}

// validScope accepts a territorial scope of distinct EU/EEA country codes.
func validScope(scope []string) error {
	seen := map[string]bool{}
	eea := EEA()
	for _, c := range scope {
		if seen[c] || !slices.Contains(eea, c) {
			return invalidf("territorial scope %q is not a list of distinct EU/EEA country codes", c)
		}
		seen[c] = true
	}
	return nil
}

// AutomatedDecision says how far the decision was taken by automated means.
type AutomatedDecision string

// Automated decision values.
const (
	AutomatedFully     AutomatedDecision = "automated_decision_fully"
	AutomatedPartially AutomatedDecision = "automated_decision_partially"
	AutomatedNot       AutomatedDecision = "automated_decision_not_automated"
)

func (a AutomatedDecision) valid() bool {
	return a == AutomatedFully || a == AutomatedPartially || a == AutomatedNot
}

// DSA returns the automated_decision value.
func (a AutomatedDecision) DSA() string { return strings.ToUpper(string(a)) }

// DecisionSource is what prompted the decision (the source of the notice).
type DecisionSource string

// Decision sources. An automated classifier's flag is the platform's own
// initiative in DSA terms (source_voluntary with automated_detection).
const (
	SourceParticipantNotice DecisionSource = "source_article_16" // a notice by a resident (DSA art. 16)
	SourceStaffNotice       DecisionSource = "source_type_other_notification"
	SourceOwnInitiative     DecisionSource = "source_voluntary" // staff, classifier, pre-moderation queue
)

func (s DecisionSource) valid() bool {
	switch s {
	case SourceParticipantNotice, SourceStaffNotice, SourceOwnInitiative:
		return true
	}
	return false
}

// DSA returns the source_type value.
func (s DecisionSource) DSA() string { return strings.ToUpper(string(s)) }
