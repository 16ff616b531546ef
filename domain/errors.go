package domain

import (
	"errors"
	"fmt"
)

// Named errors. Commands wrap them with context (errors.Is works); the HTTP
// layer maps each to one status.
var (
	// ErrInvalid: the command's input is malformed or incomplete.
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: the command addresses something that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the current state forbids the command (closed process,
	// stale content version, duplicate support, an appeal already open …).
	ErrConflict = errors.New("conflict")
	// ErrForbidden: this actor may not do this, whatever the state.
	ErrForbidden = errors.New("forbidden")
)

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

func notFoundf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrNotFound}, args...)...)
}

func conflictf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConflict}, args...)...)
}

func forbiddenf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrForbidden}, args...)...)
}
