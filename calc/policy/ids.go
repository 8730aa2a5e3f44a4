package policy

import (
	"crypto/sha256"
	"encoding/base32"
	"strconv"
	"strings"
)

// b32 is lower-case base32 without padding: nftables names and chain names accept it as is.
var b32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// shortHash is 13 characters (65 bits) of SHA-256: collisions among a node's few thousand
// names are negligible, and prefix plus hash stays within 16 bytes.
func shortHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return b32.EncodeToString(h.Sum(nil)[:8])
}

func policyChainID(k policyKey, egress bool) ChainID {
	kind := "gnp"
	if k.namespaced {
		kind = "np"
	}
	pfx := "pi-"
	if egress {
		pfx = "po-"
	}
	return ChainID(pfx + shortHash(kind, k.namespace, k.name))
}

func profileChainID(name string, egress bool) ChainID {
	pfx := "ri-"
	if egress {
		pfx = "ro-"
	}
	return ChainID(pfx + shortHash("pro", name))
}

// setID names a set by its content: "s4-"/"s6-" for selector sets, "p4-"/"p6-" for named-port
// sets.
func (sp *setSpec) id() SetID {
	var b strings.Builder
	if sp.kind == SetAddrPorts {
		b.WriteByte('p')
	} else {
		b.WriteByte('s')
	}
	b.WriteByte('0' + sp.family)
	b.WriteByte('-')
	b.WriteString(shortHash(sp.sel.String(), sp.portName, strconv.Itoa(int(sp.proto))))
	return SetID(b.String())
}
