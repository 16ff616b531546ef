package domain

import "strings"

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

// DSA statement categories.
const (
	CategoryAnimalWelfare          Category = "animal_welfare"
	CategoryConsumerInformation    Category = "consumer_information"
	CategoryCyberViolence          Category = "cyber_violence"
	CategoryCyberViolenceAgainstW  Category = "cyber_violence_against_women"
	CategoryDataProtection         Category = "data_protection_and_privacy_violations"
	CategoryIllegalOrHarmfulSpeech Category = "illegal_or_harmful_speech"
	CategoryIntellectualProperty   Category = "intellectual_property_infringements"
	CategoryCivicDiscourse         Category = "negative_effects_on_civic_discourse_or_elections"
	CategoryNonConsensual          Category = "non_consensual_behaviour"
	CategoryOtherViolationTC       Category = "other_violation_tc"
	CategoryPornography            Category = "pornography_or_sexualized_content"
	CategoryProtectionOfMinors     Category = "protection_of_minors"
	CategoryPublicSecurity         Category = "risk_for_public_security"
	CategoryScams                  Category = "scams_and_fraud"
	CategorySelfHarm               Category = "self_harm"
	CategoryScope                  Category = "scope_of_platform_service"
	CategoryUnsafeProducts         Category = "unsafe_and_illegal_products"
	CategoryViolence               Category = "violence"
)

// Categories returns every category.
func Categories() []Category {
	return []Category{CategoryAnimalWelfare, CategoryConsumerInformation, CategoryCyberViolence,
		CategoryCyberViolenceAgainstW, CategoryDataProtection, CategoryIllegalOrHarmfulSpeech,
		CategoryIntellectualProperty, CategoryCivicDiscourse, CategoryNonConsensual, CategoryOtherViolationTC,
		CategoryPornography, CategoryProtectionOfMinors, CategoryPublicSecurity, CategoryScams,
		CategorySelfHarm, CategoryScope, CategoryUnsafeProducts, CategoryViolence}
}

func (c Category) valid() bool {
	for _, k := range Categories() {
		if c == k {
			return true
		}
	}
	return false
}

// DSA returns the category value.
func (c Category) DSA() string {
	if c == "" {
		return ""
	}
	return "STATEMENT_CATEGORY_" + strings.ToUpper(string(c))
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
