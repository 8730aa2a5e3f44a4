package scenarios

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// nftBin is Debian's nft, copied into the initramfs with its libraries by the runner.
const nftBin = "/usr/sbin/nft"

// nftApply loads a ruleset into n with `nft -f -`.
func nftApply(n *testbed.Netns, ruleset string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := n.Run(ctx, testbed.RunOptions{Path: nftBin, Args: []string{"-f", "-"}, Stdin: strings.NewReader(ruleset)})
	return err
}

// Counter is one nft counter, keyed by its rule's comment.
type Counter struct{ Packets, Bytes uint64 }

// nftCounters reads every commented rule's counter of a table with `nft -j list table`.
func nftCounters(n *testbed.Netns, family, table string) (map[string]Counter, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := n.Run(ctx, testbed.RunOptions{Path: nftBin, Args: []string{"-j", "list", "table", family, table}})
	if err != nil {
		return nil, err
	}
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Comment string                       `json:"comment"`
				Expr    []map[string]json.RawMessage `json:"expr"`
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("parsing nft -j output: %w: %s", err, out)
	}
	res := map[string]Counter{}
	for _, item := range doc.Nftables {
		if item.Rule == nil || item.Rule.Comment == "" {
			continue
		}
		for _, e := range item.Rule.Expr {
			if raw, ok := e["counter"]; ok {
				var c Counter
				if err := json.Unmarshal(raw, &struct {
					Packets *uint64 `json:"packets"`
					Bytes   *uint64 `json:"bytes"`
				}{&c.Packets, &c.Bytes}); err != nil {
					return nil, err
				}
				res[item.Rule.Comment] = c
			}
		}
	}
	return res, nil
}
