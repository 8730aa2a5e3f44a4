package cni

import (
	"errors"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/brindle-net/brindle/store"
)

// Plugin-specific CNI error codes (the spec reserves 1-99; 100+ belong to the plugin).
// Each failure kind has its own code so a runtime or operator can tell them apart.
const (
	ErrDatastore  uint = 100 // etcd unreachable or a datastore write failed
	ErrNodename   uint = 101 // this host's node name cannot be determined
	ErrIPAM       uint = 102 // address assignment failed (pool exhausted, no pool, ...)
	ErrDataplane  uint = 103 // veth, address, route or sysctl programming failed
	ErrCheck      uint = 104 // CHECK found the container's network not as ADD left it
	ErrDelegation uint = 105 // a delegated IPAM plugin failed
)

// newError builds a CNI error; details say what to fix.
func newError(code uint, msg, details string) *types.Error {
	return &types.Error{Code: code, Msg: msg, Details: details}
}

// wrapErr turns err into a CNI error of the given code unless it already is one. A datastore
// that could not answer for now (unreachable, no leader, timed out) is the spec's code 11
// "Try again later" whatever the step: the runtime retries the call, and ADD has undone
// what it did (undo.go), so nothing half-made stays behind.
func wrapErr(code uint, err error, details string) error {
	if err == nil {
		return nil
	}
	var ce *types.Error
	if errors.As(err, &ce) {
		return ce
	}
	if store.IsUnavailable(err) {
		return newError(types.ErrTryAgainLater, err.Error(), "the datastore did not answer; try again later")
	}
	return newError(code, err.Error(), details)
}

// asCNIError converts anything a verb returned into the error JSON the runtime reads.
func asCNIError(err error) *types.Error {
	var ce *types.Error
	if errors.As(err, &ce) {
		return ce
	}
	return newError(types.ErrInternal, err.Error(), "")
}

// unanswered reports whether err is the "try again later" of a datastore that did not
// answer: a write that failed so may have been applied all the same.
func unanswered(err error) bool {
	var ce *types.Error
	return errors.As(err, &ce) && ce.Code == types.ErrTryAgainLater
}
