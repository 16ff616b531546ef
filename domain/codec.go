package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// versioned is implemented by event types whose current schema version is
// above 1.
type versioned interface{ schemaVersion() int }

func currentVersion(ev Event) int {
	if v, ok := ev.(versioned); ok {
		return v.schemaVersion()
	}
	return 1
}

// EventTypes returns every registered event type name.
func EventTypes() []string {
	evs := registered()
	names := make([]string, len(evs))
	for i, e := range evs {
		names[i] = e.EventType()
	}
	return names
}

// Encode returns an event's type name, schema version and JSON body (one
// line, no HTML escaping). It fails if a personal field is not sealed.
func Encode(e Event) (typ string, version int, data []byte, err error) {
	if e == nil {
		return "", 0, nil, invalidf("encode: nil event")
	}
	typ = e.EventType()
	if newEvent(typ) == nil {
		return "", 0, nil, invalidf("encode: unregistered event type %q", typ)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Swedish text and "§" stay readable; & < > are not dangerous in a log
	if err := enc.Encode(e); err != nil {
		return "", 0, nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return typ, currentVersion(e), bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// Decode parses a stored event, upcasting older schema versions to the
// current one. Unknown types, unknown versions, unknown fields and
// malformed JSON are ErrInvalid.
func Decode(typ string, version int, data []byte) (Event, error) {
	ev := newEvent(typ)
	if ev == nil {
		return nil, invalidf("decode: unknown event type %q", typ)
	}
	cur := currentVersion(ev)
	if version < 1 || version > cur {
		return nil, invalidf("decode %s: unknown schema version %d (current %d)", typ, version, cur)
	}
	for v := version; v < cur; v++ {
		up := upcaster(typ, v)
		if up == nil {
			return nil, invalidf("decode %s: no upcaster from version %d", typ, v)
		}
		var err error
		if data, err = up(data); err != nil {
			return nil, fmt.Errorf("%w: decode %s: upcasting from version %d: %v", ErrInvalid, typ, v, err)
		}
	}
	if err := decodeStrict(data, ev); err != nil {
		return nil, fmt.Errorf("%w: decode %s v%d: %v", ErrInvalid, typ, version, err)
	}
	return ev, nil
}

// decodeStrict decodes one JSON object into v, rejecting unknown fields
// and anything after the object.
func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

// upcaster returns the function that rewrites the JSON of typ at version v
// into version v+1, or nil. Upcasting happens on read only: the stored
// bytes (and so the Merkle leaves) stay as they were appended. When a type
// changes shape, add a case here and a schemaVersion method on the type,
// keep the old golden file, and add the new one.
func upcaster(typ string, v int) func([]byte) ([]byte, error) {
	switch {
	case typ == "ModerationDecided" && v == 1:
		return upcastModerationDecidedV1
	}
	return nil
}

// moderationDecidedV1 is ModerationDecided as version 1 stored it: one
// explanation for facts and ground, no content type, content date or
// territorial scope, and the category list from before 1 July 2025.
type moderationDecidedV1 struct {
	DecisionID         string            `json:"decision_id"`
	ItemID             string            `json:"item_id"`
	ItemKind           ItemKind          `json:"item_kind"`
	ContentVersion     int               `json:"content_version"`
	Visibility         Visibility        `json:"visibility"`
	Ground             Ground            `json:"ground"`
	LegalGround        string            `json:"legal_ground"`
	PolicyClause       string            `json:"policy_clause"`
	Category           Category          `json:"category"`
	Explanation        string            `json:"explanation"`
	AutomatedDetection bool              `json:"automated_detection"`
	AutomatedDecision  AutomatedDecision `json:"automated_decision"`
	Source             DecisionSource    `json:"source"`
	FlagIDs            []string          `json:"flag_ids"`
	Moderator          string            `json:"moderator"`
	DecidedAt          time.Time         `json:"decided_at"`
}

// upcastModerationDecidedV1 reads version 1 as version 2:
//   - category: a retired value becomes its replacement from the database's
//     correspondence table (unsafe_and_illegal_products →
//     unsafe_and_prohibited_products, scope_of_platform_service →
//     other_violation_tc), or CategoryNeedsReview where the table has none
//     (non_consensual_behaviour, pornography_or_sexualized_content); the
//     recorded value is kept in retired_category. Nothing is guessed.
//   - content_type: text — version 1 items were text only (the ledger
//     stores no attachments).
//   - content_date: "" — version 1 did not record it; readers that need it
//     take the occurred-at of the decided content version from the log.
//   - territorial_scope: empty — not stated in version 1.
//   - ground_explanation: the one explanation version 1 asked for, which
//     served for the facts and the ground both; "" for decisions that
//     restrict nothing (they have no ground).
func upcastModerationDecidedV1(data []byte) ([]byte, error) {
	var v1 moderationDecidedV1
	if err := decodeStrict(data, &v1); err != nil {
		return nil, err
	}
	v2 := ModerationDecided{DecisionID: v1.DecisionID, ItemID: v1.ItemID, ItemKind: v1.ItemKind,
		ContentVersion: v1.ContentVersion, ContentType: []ContentType{ContentText}, Visibility: v1.Visibility,
		Ground: v1.Ground, LegalGround: v1.LegalGround, PolicyClause: v1.PolicyClause, Category: v1.Category,
		TerritorialScope: []string{}, Explanation: v1.Explanation, AutomatedDetection: v1.AutomatedDetection,
		AutomatedDecision: v1.AutomatedDecision, Source: v1.Source, FlagIDs: v1.FlagIDs, Moderator: v1.Moderator,
		DecidedAt: v1.DecidedAt}
	if c, retired := v1.Category.Retired(); retired {
		v2.Category, v2.RetiredCategory = c, v1.Category
	}
	if v1.Visibility.Restricts() {
		v2.GroundExplanation = v1.Explanation
	}
	return json.Marshal(v2)
}
