package cni

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/brindle-net/brindle/ipam"
	"github.com/brindle-net/brindle/store"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// brokerMaxCalls bounds the calls the agent runs at once; beyond it, it declines and the
// plugins do the work themselves.
const brokerMaxCalls = 256

// Broker is the node agent's side of the IPAM broker (broker.go).
type Broker struct {
	sc    *store.Client
	alloc *ipam.Allocator // shared by the calls: in-memory turns, one block cache
	node  string
	log   *zap.Logger
	sem   chan struct{}
}

// ServeIPAM answers the IPAM plugin's ADDs on stateDir's socket until ctx ends, with the
// agent's datastore connection, for this node only.
func ServeIPAM(ctx context.Context, stateDir string, sc *store.Client, node string, log *zap.Logger) error {
	path := filepath.Join(stateDir, BrokerSocketName)
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("IPAM socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("IPAM socket %s: %w", path, err)
	}
	// Root-only: plugins check this before trusting the socket, and the agent checks each
	// caller's credentials as well (in the moment before the chmod anyone could connect).
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return err
	}
	b := &Broker{sc: sc, alloc: ipam.New(sc, ipam.Options{Logger: log, Shared: true}), node: node, log: log, sem: make(chan struct{}, brokerMaxCalls)}
	go func() {
		<-ctx.Done()
		l.Close()
		os.Remove(path)
	}()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				if ctx.Err() == nil {
					log.Warn("IPAM socket stopped; plugins assign on their own", zap.Error(err))
				}
				return
			}
			go b.serve(ctx, conn.(*net.UnixConn))
		}
	}()
	return nil
}

func (b *Broker) serve(ctx context.Context, conn *net.UnixConn) {
	defer conn.Close()
	if !rootPeer(conn) {
		return
	}
	_ = conn.SetDeadline(time.Now().Add(brokerAccept))
	var req brokerRequest
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		return
	}
	enc := json.NewEncoder(conn)
	decline := func(why string) { _ = enc.Encode(brokerReply{Declined: why}) }
	switch {
	case req.Verb != "ADD":
		decline("verb " + req.Verb + " is not served")
		return
	case req.Node != b.node:
		decline("node " + req.Node + " is not this agent's (" + b.node + ")")
		return
	case !sameEndpoints(req.Endpoints, b.sc.Endpoints()):
		decline("another datastore")
		return
	}
	select {
	case b.sem <- struct{}{}:
		defer func() { <-b.sem }()
	default:
		decline("busy")
		return
	}
	if enc.Encode(brokerReply{Accepted: true}) != nil {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, brokerWait)
	defer cancel()
	reply := brokerReply{}
	res, err := b.add(cctx, &req)
	if err != nil && ctx.Err() != nil {
		return // the agent is stopping: no answer, so the plugin does the call itself
	}
	if err == nil {
		reply.Result, err = json.Marshal(res)
	}
	if err != nil {
		reply.Error = asCNIError(err)
	}
	_ = conn.SetDeadline(time.Now().Add(brokerAccept))
	_ = enc.Encode(reply)
}

// add is ipamAdd on the agent's connection: the same checks, reads and write.
func (b *Broker) add(ctx context.Context, req *brokerRequest) (*current.Result, error) {
	args := req.Args
	c, err := parseCall(&args)
	if err != nil {
		return nil, err
	}
	if !c.conf.ownIPAM() {
		return nil, newError(types.ErrInvalidNetworkConfig, fmt.Sprintf("ipam.type: %q is not calico-ipam or brindle-ipam", c.conf.IPAM.Type), "")
	}
	c.resolveAs("IPAM ADD", req.Node, b.log)
	// As the plugin bounds its first request (startLazySession).
	fctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	pre, err := prefetchReady(fctx, b.sc, c)
	if err != nil {
		return nil, err
	}
	return ipamAssign(ctx, c, b.sc, pre, b.alloc)
}

// rootPeer says whether the caller runs as root (or as the agent's user).
func rootPeer(conn *net.UnixConn) bool {
	raw, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	if err := raw.Control(func(fd uintptr) { cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) }); err != nil || cred == nil {
		return false
	}
	return cred.Uid == 0 || int(cred.Uid) == os.Geteuid()
}
