package casefile

import (
	"errors"
	"fmt"
)

// Kinds of refusal; a Rejection wraps one of them.
var (
	ErrInvalid  = errors.New("invalid request")
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict with the case's state")
	// ErrStale is a change conditioned on a version the case has left.
	ErrStale = errors.New("case version mismatch")
)

// Rejection is a request the case rules refuse. Detail is written for the
// client and is safe to show; Kind is one of the errors above; Field, when
// set, names the request field at fault.
type Rejection struct {
	Kind   error
	Detail string
	Field  string
}

func (r *Rejection) Error() string { return r.Detail }
func (r *Rejection) Unwrap() error { return r.Kind }

// Reject builds a Rejection of the given kind.
func Reject(kind error, format string, args ...any) error {
	return &Rejection{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// NotFound is the rejection for an id with no case. Every layer answers it
// in these words, so a case a customer token may not see reads exactly as a
// missing one.
func NotFound(id string) error {
	return Reject(ErrNotFound, "case %s does not exist", id)
}
