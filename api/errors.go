package api

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field, named by its JSON path (e.g. "spec.blockSize").
type FieldError struct {
	Path   string
	Value  any
	Reason string
}

func (e FieldError) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("%s: %s", e.Path, e.Reason)
	}
	return fmt.Sprintf("%s: %s (got %v)", e.Path, e.Reason, e.Value)
}

// ValidationError collects every field error of one resource.
type ValidationError struct {
	Kind   string
	Name   string
	Errors []FieldError
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		msgs[i] = fe.Error()
	}
	return fmt.Sprintf("%s %q is invalid: %s", e.Kind, e.Name, strings.Join(msgs, "; "))
}

// Errs accumulates field errors while validating.
type Errs []FieldError

// Add records one field error.
func (e *Errs) Add(path string, value any, format string, args ...any) {
	*e = append(*e, FieldError{Path: path, Value: value, Reason: fmt.Sprintf(format, args...)})
}

// For returns nil when no errors were recorded, else a *ValidationError for the resource.
func (e Errs) For(r Resource) error {
	if len(e) == 0 {
		return nil
	}
	return &ValidationError{Kind: r.GetTypeMeta().Kind, Name: r.GetObjectMeta().Name, Errors: e}
}
