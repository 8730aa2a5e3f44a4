package dataplane

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	mdnetlink "github.com/mdlayher/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// readPol reads our part of the table back.
func readPol(c *nftables.Conn, ns netns.NsHandle, v6 bool) (*polHave, error) {
	h := &polHave{chains: map[string]string{}, sets: map[string]*polSetHave{}, dead: map[string]bool{}}
	fam := polTableOf(v6).Family
	t, err := c.ListTableOfFamily(nftTable, fam)
	if errors.Is(err, unix.ENOENT) {
		return h, nil
	}
	if err != nil {
		return nil, err
	}
	h.table = true
	sets, err := c.GetSets(t)
	if err != nil {
		return nil, err
	}
	for _, s := range sets {
		if natOwned(s.Name) {
			continue
		}
		es, err := c.GetSetElements(s)
		if err != nil {
			return nil, fmt.Errorf("set %s: %w", s.Name, err)
		}
		h.sets[s.Name] = &polSetHave{shape: setShape(s), elems: elemMap(es)}
	}
	chains, err := c.ListChainsOfTableFamily(fam)
	if err != nil {
		return nil, err
	}
	heads, dead, err := firstRuleTags(ns, byte(fam))
	if err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	for _, ch := range chains {
		if ch.Table.Name != nftTable || natOwned(ch.Name) {
			continue
		}
		h.chains[ch.Name] = ""
		if dead[ch.Name] {
			h.dead[ch.Name] = true
		}
		if hash, ok := strings.CutPrefix(heads[ch.Name], polHashTag); ok {
			h.chains[ch.Name] = hash
		}
	}
	return h, nil
}

// firstRuleTags dumps every rule of the table in one request and returns, per chain, the
// comment of its first rule, and the chains that hold superseded rules (polsupersede.go). google/nftables asks chain by chain (one dump per chain:
// a second at 1,500 chains); the kernel dumps a whole table when no chain is named.
func firstRuleTags(ns netns.NsHandle, family byte) (map[string]string, map[string]bool, error) {
	cfg := &mdnetlink.Config{}
	if ns.IsOpen() {
		cfg.NetNS = int(ns)
	}
	conn, err := mdnetlink.Dial(unix.NETLINK_NETFILTER, cfg)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	attrs, err := mdnetlink.MarshalAttributes([]mdnetlink.Attribute{{Type: unix.NFTA_RULE_TABLE, Data: []byte(nftTable + "\x00")}})
	if err != nil {
		return nil, nil, err
	}
	req := mdnetlink.Message{
		Header: mdnetlink.Header{Type: mdnetlink.HeaderType(unix.NFNL_SUBSYS_NFTABLES<<8 | unix.NFT_MSG_GETRULE),
			Flags: mdnetlink.Request | mdnetlink.Dump},
		Data: append([]byte{family, unix.NFNETLINK_V0, 0, 0}, attrs...),
	}
	msgs, err := conn.Execute(req)
	if err != nil {
		return nil, nil, err
	}
	out, dead := map[string]string{}, map[string]bool{}
	for _, m := range msgs {
		if len(m.Data) < 4 {
			continue
		}
		ad, err := mdnetlink.NewAttributeDecoder(m.Data[4:])
		if err != nil {
			return nil, nil, err
		}
		var chain string
		var ud []byte
		for ad.Next() {
			switch ad.Type() {
			case unix.NFTA_RULE_CHAIN:
				chain = ad.String()
			case unix.NFTA_RULE_USERDATA:
				ud = ad.Bytes()
			}
		}
		if err := ad.Err(); err != nil {
			return nil, nil, err
		}
		tag, _ := userdata.GetString(ud, userdata.TypeComment)
		if _, seen := out[chain]; !seen && chain != "" {
			out[chain] = tag
		}
		if tag == polSupersededTag {
			dead[chain] = true
		}
	}
	return out, dead, nil
}
