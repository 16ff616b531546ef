package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxIDLen keeps ids short enough that every derived stream name fits the
// store's 256-byte limit ("surveyanswer-" + two ids).
const maxIDLen = 100

// checkID accepts ids that can be part of a stream name: 1–100 bytes of
// printable UTF-8 without spaces.
func checkID(what, id string) error {
	if id == "" {
		return invalidf("%s is required", what)
	}
	if len(id) > maxIDLen || !utf8.ValidString(id) || strings.HasPrefix(id, "$") {
		return invalidf("%s %q is not a valid id", what, id)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return invalidf("%s %q is not a valid id", what, id)
		}
	}
	return nil
}

// checkText requires a non-blank text of at most max bytes.
func checkText(what, s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return invalidf("%s is required", what)
	}
	if len(s) > max || !utf8.ValidString(s) {
		return invalidf("%s is longer than %d bytes or not UTF-8", what, max)
	}
	return nil
}

// checkOptionalText allows "" but bounds the length.
func checkOptionalText(what, s string, max int) error {
	if s == "" {
		return nil
	}
	return checkText(what, s, max)
}

// Size limits for free text, in bytes.
const (
	maxShort = 200     // names, titles, references
	maxLong  = 100_000 // bodies, explanations
)
