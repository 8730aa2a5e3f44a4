package api

import (
	"sort"
	"strconv"
)

func itoa(i int) string { return strconv.Itoa(i) }

type simpleError string

func (e simpleError) Error() string { return string(e) }

func errorf(msg string) error { return simpleError(msg) }

// sortedTrue returns the keys whose value is true, sorted, for stable error order.
func sortedTrue(m map[string]bool) []string {
	var out []string
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// sortErrs orders errors by path, for checks that iterate over maps.
func sortErrs(e Errs) {
	sort.SliceStable(e, func(i, j int) bool { return e[i].Path < e[j].Path })
}
