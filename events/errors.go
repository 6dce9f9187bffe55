package events

import (
	"fmt"
	"strings"
)

// ValidationError reports an event that does not match its contract. It is permanent:
// the same bytes will never become valid, so consumers park them instead of retrying.
// Use errors.As to get it.
type ValidationError struct {
	Type     Type      // the event type, if it could be read
	Version  int       // the schema version, if it could be read
	Problems []Problem // at least one
}

// Problem is one violation: where in the event, and what is wrong.
type Problem struct {
	Path    string // JSON pointer into the envelope, e.g. "/payload/items/0/quantity"; "" for the whole document
	Message string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString("invalid event")
	if e.Type != "" {
		fmt.Fprintf(&b, " %s", e.Type)
		if e.Version > 0 {
			fmt.Fprintf(&b, " v%d", e.Version)
		}
	}
	b.WriteString(": ")
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		if p.Path != "" {
			b.WriteString(p.Path)
			b.WriteString(": ")
		}
		b.WriteString(p.Message)
	}
	return b.String()
}

func invalid(t Type, version int, path, format string, args ...any) *ValidationError {
	return &ValidationError{Type: t, Version: version, Problems: []Problem{{Path: path, Message: fmt.Sprintf(format, args...)}}}
}
