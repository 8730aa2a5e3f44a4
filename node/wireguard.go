package node

import (
	"cmp"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/dataplane"
	"go.uber.org/zap"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// wireguardDriver programs and reads the WireGuard device; *dataplane.Dataplane.
type wireguardDriver interface {
	ApplyWireguard(fam calc.WireguardFamily, want *calc.WireguardDesired, key wgtypes.Key) error
	WithdrawWireguard(fam calc.WireguardFamily) error
	WireguardDevice(iface string) (*wgtypes.Device, error)
}

var _ wireguardDriver = (*dataplane.Dataplane)(nil)

// wgAgent is the agent's WireGuard part (felix's wireguard manager plus the key handling
// calico-node does): the loop's component programs the device; a goroutine beside the loop
// publishes the public key and keeps the device address allocated, since those are datastore
// writes. The agent has two, one per IP family: felix runs one Wireguard instance per IP
// version, each with its own device, key, port, table and Node fields.
type wgAgent struct {
	fam     calc.WireguardFamily
	drv     wireguardDriver
	key     wgtypes.Key
	haveKey bool
	publish chan struct{}

	mu        sync.Mutex
	status    bgpstatus.WireGuardStatus
	pubKey    string // what status.wireguardPublicKey should say ("" clears it)
	lastWarn  string
	set       bool      // setWGState ran once (the first run publishes, whatever it says)
	offDone   bool      // WireGuard is off and its kernel state was removed
	ruleGone  bool      // WireGuard is off and its rule removed; the device may remain
	offSince  time.Time // when the rule went
	published string    // what the last successful publish wrote
}

// wireguardConfig reads FelixConfiguration's WireGuard fields of fam with felix's defaults:
// the IPv6 device has its own enabled flag, name, port and MTU (the *V6 fields) and shares
// the rule priority and keepalive; host encryption is IPv4's only.
func wireguardConfig(fc api.FelixConfigurationSpec, fam calc.WireguardFamily) calc.WireguardConfig {
	c := calc.WireguardConfig{Family: fam, Iface: cmp.Or(fc.WireguardInterfaceName, fam.Iface)}
	enabled, port, mtu := fc.WireguardEnabled, fc.WireguardListeningPort, fc.WireguardMTU
	if fam.IPv6 {
		c.Iface = cmp.Or(fc.WireguardInterfaceNameV6, fam.Iface)
		enabled, port, mtu = fc.WireguardEnabledV6, fc.WireguardListeningPortV6, fc.WireguardMTUV6
	}
	if enabled != nil {
		c.Enabled = *enabled
	}
	if port != nil {
		c.Port = *port
	}
	if mtu != nil {
		c.MTU = *mtu
	}
	if fc.WireguardRoutingRulePriority != nil {
		c.RulePriority = *fc.WireguardRoutingRulePriority
	}
	if fc.WireguardHostEncryptionEnabled != nil && !fam.IPv6 {
		c.HostEncryption = *fc.WireguardHostEncryptionEnabled
	}
	if fc.WireguardPersistentKeepAlive != nil {
		c.KeepAlive = fc.WireguardPersistentKeepAlive.Duration
	}
	return c
}

// syncWireguard is the loop's WireGuard component. A kernel without WireGuard is not a
// failure to retry: the node says why (status, one log line per reason), publishes no key,
// so its peers keep routing to it unencrypted as Calico does for nodes without WireGuard,
// and its own routes stay those of the main table. Each family's device runs it with its own
// wgAgent.
func (a *Agent) syncWireguard(w *wgAgent) error {
	cfg := wireguardConfig(a.cache.felixConfig(), w.fam)
	if !cfg.Enabled {
		return a.wireguardOff(w)
	}
	w.offDone, w.ruleGone = false, false
	if !w.haveKey {
		file := wireguardKeyFile(w.fam)
		k, created, err := loadWireguardKey(a.opts.StateDir, file)
		if err != nil {
			a.setWGState(w, bgpstatus.WireGuardStatus{Enabled: true, Iface: cfg.Iface, Reason: err.Error()}, "")
			return err
		}
		w.key, w.haveKey = k, true
		if created {
			a.log.Info("generated a WireGuard key", zap.String("file", file), zap.String("publicKey", k.PublicKey().String()))
		}
	}
	want := calc.ComputeWireguard(a.cache.state, cfg)
	pub := w.key.PublicKey().String()
	st := bgpstatus.WireGuardStatus{Enabled: true, Iface: want.Iface, PublicKey: pub}
	if want.Addr.IsValid() {
		st.Address = want.Addr.String()
	}
	err := w.drv.ApplyWireguard(w.fam, want, w.key)
	if errors.Is(err, dataplane.ErrWireguardUnsupported) {
		st.Reason, st.PublicKey = err.Error(), ""
		if a.setWGState(w, st, "") {
			a.log.Warn("WireGuard is enabled but cannot run here; routing stays unencrypted", zap.String("family", w.fam.Name()), zap.Error(err))
		}
		return nil
	}
	if err != nil {
		st.Reason = err.Error()
		a.setWGState(w, st, "")
		return fmt.Errorf("programming %s WireGuard: %w", w.fam.Name(), err)
	}
	st.Running = true
	a.setWGState(w, st, pub)
	return nil
}

// wgDeviceGrace bounds how long the device outlives its rule waiting for peers to withdraw
// their keys (a peer that is down never does).
const wgDeviceGrace = 30 * time.Second

// wireguardOff turns WireGuard off in two steps. The rule goes at once, so this node's
// traffic takes the pool's routes; the device stays while another node still publishes a
// key, since such a peer still encrypts its replies to us and only our device can decrypt
// them (the nodes do not see the FelixConfiguration change at the same instant). A peer
// withdraws its key after removing its own rule, so the last withdrawal (a Node update, which
// runs this component again) removes the device.
func (a *Agent) wireguardOff(w *wgAgent) error {
	if w.offDone {
		return nil
	}
	if !w.ruleGone {
		if err := w.drv.WithdrawWireguard(w.fam); err != nil {
			return fmt.Errorf("removing the %s WireGuard rule: %w", w.fam.Name(), err)
		}
		w.ruleGone, w.offSince = true, time.Now()
		a.setWGState(w, bgpstatus.WireGuardStatus{}, "")
	}
	for name, n := range a.cache.state.Nodes {
		key := n.WireguardPublicKey
		if w.fam.IPv6 {
			key = n.WireguardPublicKeyV6
		}
		if name != a.name && key != "" && time.Since(w.offSince) < wgDeviceGrace {
			return nil // kept for that peer; the next Node update or resync looks again
		}
	}
	if err := w.drv.ApplyWireguard(w.fam, nil, wgtypes.Key{}); err != nil {
		return fmt.Errorf("removing %s WireGuard: %w", w.fam.Name(), err)
	}
	w.offDone = true
	return nil
}

// setWGState records the status and the key to publish, kicking the publisher when the key
// changed; it reports whether the reason is new (so that it is logged once, not at every run).
func (a *Agent) setWGState(w *wgAgent, st bgpstatus.WireGuardStatus, pubKey string) bool {
	w.mu.Lock()
	kick := w.pubKey != pubKey || !w.set
	w.status, w.pubKey, w.set = st, pubKey, true
	fresh := st.Reason != "" && st.Reason != w.lastWarn
	w.lastWarn = st.Reason
	w.mu.Unlock()
	if kick {
		w.kick()
	}
	return fresh
}

// WireGuardStatus implements bgpstatus.WireGuardSource: the IPv4 or the IPv6 device's
// state; nil when that device is off.
func (a *Agent) WireGuardStatus(v6 bool) *bgpstatus.WireGuardStatus {
	w := &a.wg
	if v6 {
		w = &a.wg6
	}
	w.mu.Lock()
	st := w.status
	w.mu.Unlock()
	if !st.Enabled {
		return nil
	}
	if st.Running && w.drv != nil {
		if dev, err := w.drv.WireguardDevice(st.Iface); err == nil && dev != nil {
			st.Device = deviceStatus(dev)
		}
	}
	return &st
}

func deviceStatus(dev *wgtypes.Device) *bgpstatus.WireGuardDevice {
	out := &bgpstatus.WireGuardDevice{PublicKey: dev.PublicKey.String(), ListenPort: dev.ListenPort, FirewallMark: dev.FirewallMark}
	for _, p := range dev.Peers {
		ps := bgpstatus.WireGuardPeer{PublicKey: p.PublicKey.String(), LastHandshake: p.LastHandshakeTime,
			RxBytes: p.ReceiveBytes, TxBytes: p.TransmitBytes}
		if p.Endpoint != nil {
			ps.Endpoint = p.Endpoint.String()
		}
		for _, n := range p.AllowedIPs {
			ps.AllowedIPs = append(ps.AllowedIPs, n.String())
		}
		out.Peers = append(out.Peers, ps)
	}
	return out
}
