package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ASNumber is a 4-byte BGP AS number. Like Calico's numorstring.ASNumber it is written as a
// JSON number and read from a number, a decimal string or the dotted "high.low" notation.
type ASNumber uint32

// UnmarshalJSON accepts 64512, "64512" and "1.10" (= 1<<16 + 10).
func (a *ASNumber) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := ParseASNumber(s)
		if err != nil {
			return err
		}
		*a = v
		return nil
	}
	// A bare number is never dotted: 1.5 is a fraction, not AS 1.5.
	v, err := strconv.ParseUint(string(b), 10, 32)
	if err != nil {
		return fmt.Errorf("AS number %s: must be an integer 1-4294967295 or a dotted \"high.low\" string", b)
	}
	*a = ASNumber(v)
	return nil
}

// ParseASNumber parses a plain or dotted ("high.low") AS number.
func ParseASNumber(s string) (ASNumber, error) {
	if hi, lo, dotted := strings.Cut(s, "."); dotted {
		h, err1 := strconv.ParseUint(hi, 10, 16)
		l, err2 := strconv.ParseUint(lo, 10, 16)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("AS number %q: dotted form needs two numbers 0-65535", s)
		}
		return ASNumber(h<<16 | l), nil
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("AS number %q: must be an integer 0-4294967295 or dotted high.low", s)
	}
	return ASNumber(v), nil
}

// Port is a single port, a range "a:b" or a named port, as Calico's numorstring.Port.
// A single number is written as a JSON number, anything else as a string.
type Port struct {
	MinPort  uint16
	MaxPort  uint16
	PortName string
}

// SinglePort returns the Port for one number.
func SinglePort(p uint16) Port { return Port{MinPort: p, MaxPort: p} }

// ParsePort reads "80", "80:90" or a port name.
func ParsePort(s string) (Port, error) {
	if lo, hi, isRange := strings.Cut(s, ":"); isRange {
		l, err1 := strconv.ParseUint(lo, 10, 16)
		h, err2 := strconv.ParseUint(hi, 10, 16)
		if err1 != nil || err2 != nil {
			return Port{}, fmt.Errorf("port range %q: both ends must be numbers 0-65535", s)
		}
		if l > h {
			return Port{}, fmt.Errorf("port range %q: start is greater than end", s)
		}
		return Port{MinPort: uint16(l), MaxPort: uint16(h)}, nil
	}
	if v, err := strconv.ParseUint(s, 10, 16); err == nil {
		return SinglePort(uint16(v)), nil
	}
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return Port{}, fmt.Errorf("port %q: must be a number 0-65535, a range a:b or a port name", s)
	}
	return Port{PortName: s}, nil
}

func (p Port) String() string {
	switch {
	case p.PortName != "":
		return p.PortName
	case p.MinPort == p.MaxPort:
		return strconv.Itoa(int(p.MinPort))
	default:
		return fmt.Sprintf("%d:%d", p.MinPort, p.MaxPort)
	}
}

// MarshalJSON writes a single port as a number (the dump has "ports":[80,443]).
func (p Port) MarshalJSON() ([]byte, error) {
	if p.PortName == "" && p.MinPort == p.MaxPort {
		return []byte(strconv.Itoa(int(p.MinPort))), nil
	}
	return json.Marshal(p.String())
}

// UnmarshalJSON accepts a number or a string.
func (p *Port) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else if _, err := strconv.ParseUint(s, 10, 16); err != nil {
		return fmt.Errorf("port %s: must be a number 0-65535, a range \"a:b\" or a port name", s)
	}
	v, err := ParsePort(s)
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// Protocol is an IP protocol by name ("TCP") or number (6), as Calico's numorstring.Protocol.
type Protocol struct {
	Num    uint8
	Name   string
	IsName bool
}

// ProtocolFromName and ProtocolFromNum build a Protocol.
func ProtocolFromName(s string) Protocol { return Protocol{Name: s, IsName: true} }
func ProtocolFromNum(n uint8) Protocol   { return Protocol{Num: n} }

func (p Protocol) String() string {
	if p.IsName {
		return p.Name
	}
	return strconv.Itoa(int(p.Num))
}

// Number returns the protocol number (TCP 6, UDP 17, ICMP 1, ICMPv6 58, SCTP 132, UDPLite 136).
func (p Protocol) Number() (uint8, bool) {
	if !p.IsName {
		return p.Num, true
	}
	n, ok := protocolNumbers[p.Name]
	return n, ok
}

var protocolNumbers = map[string]uint8{"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPv6": 58, "SCTP": 132, "UDPLite": 136}

// MarshalJSON writes a name as a string and a number as a number.
func (p Protocol) MarshalJSON() ([]byte, error) {
	if p.IsName {
		return json.Marshal(p.Name)
	}
	return []byte(strconv.Itoa(int(p.Num))), nil
}

// UnmarshalJSON accepts "TCP" or 6.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*p = ProtocolFromName(s)
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 8)
	if err != nil {
		return fmt.Errorf("protocol %s: must be a name or a number 0-255", b)
	}
	*p = ProtocolFromNum(uint8(n))
	return nil
}

// Duration is a Go duration written as a string ("90s"), as Kubernetes' metav1.Duration.
type Duration struct{ time.Duration }

// MarshalJSON writes the duration in Go's notation, as Calico stores "reportingInterval":"0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a Go duration string such as "90s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"90s\"")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %v", s, err)
	}
	d.Duration = v
	return nil
}

// Ptr returns a pointer to v; handy for the optional fields.
func Ptr[T any](v T) *T { return &v }
