package store

import (
	"errors"
	"fmt"
)

// Sentinel errors; wrap them with the key or resource so messages say what failed.
var (
	ErrNotFound      = errors.New("resource does not exist")
	ErrAlreadyExists = errors.New("resource already exists")
	ErrConflict      = errors.New("update conflict: the resource was modified concurrently (resourceVersion mismatch)")
	// ErrUndecodable: the stored value is not a valid record (e.g. written by hand with
	// etcdctl). Lists skip such records; a caller that owns the key may delete it.
	ErrUndecodable = errors.New("stored value does not decode")
)

// undecodable marks a decoding failure as ErrUndecodable while keeping its own message.
type undecodable struct{ err error }

func (e *undecodable) Error() string        { return e.err.Error() }
func (e *undecodable) Unwrap() error        { return e.err }
func (e *undecodable) Is(target error) bool { return target == ErrUndecodable }

// ResourceError names the resource an error is about.
type ResourceError struct {
	Kind, Namespace, Name string
	Err                   error
}

func (e *ResourceError) Error() string {
	id := e.Name
	if e.Namespace != "" {
		id = e.Namespace + "/" + e.Name
	}
	return fmt.Sprintf("%s(%s): %v", e.Kind, id, e.Err)
}

func (e *ResourceError) Unwrap() error { return e.Err }

// KeyError names the etcd key an error is about.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return fmt.Sprintf("%s: %v", e.Key, e.Err) }
func (e *KeyError) Unwrap() error { return e.Err }
