package api

import "strings"

// nearest returns the candidate closest to s by edit distance (ignoring letter case), or ""
// when none is close enough to be a plausible typo: at most a third of the longer name's
// letters differ, and never more than 3; or s is the start (4 letters or more) of it.
func nearest(s string, candidates []string) string {
	best, bestD := "", 0
	for _, c := range candidates {
		d := editDistance(strings.ToLower(s), strings.ToLower(c))
		limit := max(len(s), len(c)) / 3
		prefix := len(s) >= 4 && strings.HasPrefix(strings.ToLower(c), strings.ToLower(s))
		if d > min(limit, 3) && !prefix {
			continue
		}
		if best == "" || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes: names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
