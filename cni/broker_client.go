package cni

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"syscall"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
	"go.uber.org/zap"
)

const (
	// brokerAccept bounds connecting, sending the call and the agent's acceptance: an agent
	// that is stuck costs a call this much before the plugin does the work itself.
	brokerAccept = time.Second
	// brokerWait bounds the agent's answer once it took the call (etcd's own slowness
	// included), leaving the rest of callTimeout to doing it here.
	brokerWait = 20 * time.Second
)

// BrokerEnv set to "off" makes the plugin always go to etcd itself.
const BrokerEnv = "BRINDLE_IPAM_BROKER"

// brokerAdd offers an IPAM ADD to the node agent. served is false when the plugin must do
// the call itself (no agent, a declined or dropped call); otherwise res or err is the
// outcome, as the agent's run of ipamAssign gave it.
func brokerAdd(ctx context.Context, c *call) (res *current.Result, served bool, err error) {
	if os.Getenv(BrokerEnv) == "off" {
		return nil, false, nil
	}
	path := brokerSocket(c.conf)
	if !trustedSocket(path) {
		return nil, false, nil
	}
	skip := func(why string, err error) (*current.Result, bool, error) {
		c.log.Debug("node agent did not serve the IPAM call; assigning here", zap.String("socket", path), zap.String("why", why), zap.Error(err))
		return nil, false, nil
	}
	d := net.Dialer{Timeout: brokerAccept}
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return skip("connect", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(brokerAccept))
	req := brokerRequest{Verb: "ADD", Args: *c.args, Node: c.node, Endpoints: c.conf.storeConfig(c.log).Endpoints}
	if err := json.NewEncoder(conn).Encode(&req); err != nil {
		return skip("send", err)
	}
	dec := json.NewDecoder(conn)
	var r brokerReply
	if err := dec.Decode(&r); err != nil {
		return skip("no acceptance", err)
	}
	if !r.Accepted {
		return skip("declined: "+r.Declined, nil)
	}
	_ = conn.SetDeadline(time.Now().Add(brokerWait))
	r = brokerReply{}
	if err := dec.Decode(&r); err != nil {
		// The agent died or hung after taking the call. Whatever it wrote is under this
		// call's handle, which the plugin's own ADD finds and returns.
		return skip("no answer", err)
	}
	if r.Error != nil && r.Error.Code == ErrDatastore {
		// The agent's own connection failing says little about this process's.
		return skip("the agent's datastore failed: "+r.Error.Msg, nil)
	}
	if r.Error != nil {
		return nil, true, r.Error
	}
	var out current.Result
	if err := json.Unmarshal(r.Result, &out); err != nil || len(out.IPs) == 0 {
		return skip("unreadable answer", err)
	}
	return &out, true, nil
}

// trustedSocket: only a socket that root (or this user) owns and nobody else can write to
// is asked for addresses; anything else might hand out someone else's.
func trustedSocket(path string) bool {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm()&0o077 != 0 {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && (st.Uid == 0 || int(st.Uid) == os.Geteuid())
}
