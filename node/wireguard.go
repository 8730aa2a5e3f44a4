package node

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/brindle-net/brindle/api"
	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/calc"
	"github.com/brindle-net/brindle/dataplane"
	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"go.uber.org/zap"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// wireguardDriver programs and reads the WireGuard device; *dataplane.Dataplane.
type wireguardDriver interface {
	ApplyWireguard(want *calc.WireguardDesired, key wgtypes.Key) error
	WithdrawWireguard() error
	WireguardDevice(iface string) (*wgtypes.Device, error)
}

var _ wireguardDriver = (*dataplane.Dataplane)(nil)

// wgAgent is the agent's WireGuard part (felix's wireguard manager plus the key handling
// calico-node does): the loop's component programs the device; a goroutine beside the loop
// publishes the public key and keeps the device address allocated, since those are datastore
// writes.
type wgAgent struct {
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

// wireguardConfig reads FelixConfiguration's WireGuard fields with felix's defaults.
func wireguardConfig(fc api.FelixConfigurationSpec) calc.WireguardConfig {
	c := calc.WireguardConfig{Iface: cmp.Or(fc.WireguardInterfaceName, calc.WireguardDefaultIface)}
	if fc.WireguardEnabled != nil {
		c.Enabled = *fc.WireguardEnabled
	}
	if fc.WireguardListeningPort != nil {
		c.Port = *fc.WireguardListeningPort
	}
	if fc.WireguardMTU != nil {
		c.MTU = *fc.WireguardMTU
	}
	if fc.WireguardRoutingRulePriority != nil {
		c.RulePriority = *fc.WireguardRoutingRulePriority
	}
	if fc.WireguardHostEncryptionEnabled != nil {
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
// and its own routes stay those of the main table.
func (a *Agent) syncWireguard(context.Context) error {
	w := &a.wg
	cfg := wireguardConfig(a.cache.felixConfig())
	if !cfg.Enabled {
		return a.wireguardOff()
	}
	w.offDone, w.ruleGone = false, false
	if !w.haveKey {
		k, created, err := loadWireguardKey(a.opts.StateDir)
		if err != nil {
			a.setWGState(bgpstatus.WireGuardStatus{Enabled: true, Iface: cfg.Iface, Reason: err.Error()}, "")
			return err
		}
		w.key, w.haveKey = k, true
		if created {
			a.log.Info("generated a WireGuard key", zap.String("file", WireguardKeyFile), zap.String("publicKey", k.PublicKey().String()))
		}
	}
	want := calc.ComputeWireguard(a.cache.state, cfg)
	pub := w.key.PublicKey().String()
	st := bgpstatus.WireGuardStatus{Enabled: true, Iface: want.Iface, PublicKey: pub}
	if want.Addr.IsValid() {
		st.Address = want.Addr.String()
	}
	err := w.drv.ApplyWireguard(want, w.key)
	if errors.Is(err, dataplane.ErrWireguardUnsupported) {
		st.Reason, st.PublicKey = err.Error(), ""
		if a.setWGState(st, "") {
			a.log.Warn("WireGuard is enabled but cannot run here; routing stays unencrypted", zap.Error(err))
		}
		return nil
	}
	if err != nil {
		st.Reason = err.Error()
		a.setWGState(st, "")
		return fmt.Errorf("programming WireGuard: %w", err)
	}
	st.Running = true
	a.setWGState(st, pub)
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
func (a *Agent) wireguardOff() error {
	w := &a.wg
	if w.offDone {
		return nil
	}
	if !w.ruleGone {
		if err := w.drv.WithdrawWireguard(); err != nil {
			return fmt.Errorf("removing the WireGuard rule: %w", err)
		}
		w.ruleGone, w.offSince = true, time.Now()
		a.setWGState(bgpstatus.WireGuardStatus{}, "")
	}
	for name, n := range a.cache.state.Nodes {
		if name != a.name && n.WireguardPublicKey != "" && time.Since(w.offSince) < wgDeviceGrace {
			return nil // kept for that peer; the next Node update or resync looks again
		}
	}
	if err := w.drv.ApplyWireguard(nil, wgtypes.Key{}); err != nil {
		return fmt.Errorf("removing WireGuard: %w", err)
	}
	w.offDone = true
	return nil
}

// setWGState records the status and the key to publish, kicking the publisher when the key
// changed; it reports whether the reason is new (so that it is logged once, not at every run).
func (a *Agent) setWGState(st bgpstatus.WireGuardStatus, pubKey string) bool {
	w := &a.wg
	w.mu.Lock()
	kick := w.pubKey != pubKey || !w.set
	w.status, w.pubKey, w.set = st, pubKey, true
	fresh := st.Reason != "" && st.Reason != w.lastWarn
	w.lastWarn = st.Reason
	w.mu.Unlock()
	if kick {
		a.kickWireguard()
	}
	return fresh
}

// WireGuardStatus implements bgpstatus.WireGuardSource: nil when WireGuard is off.
func (a *Agent) WireGuardStatus() *bgpstatus.WireGuardStatus {
	w := &a.wg
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

// kickWireguard asks the publisher to run.
func (a *Agent) kickWireguard() {
	if a.wg.publish == nil {
		return
	}
	select {
	case a.wg.publish <- struct{}{}:
	default:
	}
}

// wireguardLoop publishes the public key (a compare-and-swap update of the Node's status)
// and keeps the device address (spec.wireguard.interfaceIPv4Address, allocated like a
// tunnel address while a key is published). Failures back off and are logged once.
func (a *Agent) wireguardLoop(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var b backoff
	fail := failureLog{log: a.log.With(zap.String("component", "wireguard-publish")), what: "publishing the WireGuard key"}
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.wg.publish:
		case <-retry.C:
		}
		actx, cancel := context.WithTimeout(ctx, datastoreAttempt)
		err := a.publishWireguard(actx)
		cancel()
		if ctx.Err() != nil {
			return
		}
		retry.Stop()
		if err == nil {
			b.reset()
			fail.succeeded()
			continue
		}
		d := b.failed()
		fail.failed(err, d)
		retry.Reset(d)
	}
}

func (a *Agent) publishWireguard(ctx context.Context) error {
	a.wg.mu.Lock()
	want := a.wg.pubKey
	a.wg.mu.Unlock()
	if err := setNodeWireguardKey(ctx, a.store, a.name, want); err != nil {
		return err
	}
	if want != a.wg.published {
		a.log.Info("published the WireGuard public key", zap.String("publicKey", want))
		a.wg.published = want
	}
	if _, err := a.ipam.EnsureTunnelAddress(ctx, a.name, ipam.WireGuard); err != nil {
		return fmt.Errorf("WireGuard device address: %w", err)
	}
	return nil
}

// setNodeWireguardKey sets status.wireguardPublicKey, compare-and-swap with retries.
func setNodeWireguardKey(ctx context.Context, c *store.Client, name, key string) error {
	for attempt := 0; attempt < 20; attempt++ {
		n, err := store.GetAs[*api.Node](ctx, c, "", name)
		if err != nil {
			return fmt.Errorf("reading node %q: %w", name, err)
		}
		if n.Status.WireguardPublicKey == key {
			return nil
		}
		n.Status.WireguardPublicKey = key
		_, err = c.Update(ctx, n)
		if errors.Is(err, store.ErrConflict) {
			time.Sleep(time.Duration(attempt+1) * 10 * time.Millisecond)
			continue
		}
		if err != nil {
			return fmt.Errorf("updating node %q: %w", name, err)
		}
		return nil
	}
	return fmt.Errorf("updating node %q: too many concurrent modifications", name)
}
