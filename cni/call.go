package cni

import (
	"context"
	"time"

	"github.com/brindle-net/brindle/store"
	"github.com/containernetworking/cni/pkg/skel"
	"go.uber.org/zap"
)

// callTimeout bounds a whole verb, so a stuck datastore cannot hang the runtime forever.
const callTimeout = 60 * time.Second

// call is one parsed invocation: everything derived from stdin, CNI_ARGS and the environment,
// before any datastore or kernel work.
type call struct {
	args     *skel.CmdArgs
	conf     *NetConf
	workload workloadArgs
	k8s      bool              // Kubernetes mode: the conf says so and CNI_ARGS name a pod
	labels   map[string]string // ADD: the workload's own labels, from the call (labels.go)
	node     string
	id       wepIdentity
	veth     string
	log      *zap.Logger
}

// parseCall does every check that needs no I/O, so bad input fails before anything changes.
func parseCall(args *skel.CmdArgs) (*call, error) {
	conf, err := parseConf(args.StdinData)
	if err != nil {
		return nil, err
	}
	wl, err := parseArgs(args.Args)
	if err != nil {
		return nil, err
	}
	c := &call{args: args, conf: conf, workload: wl}
	// Calico's rule (both pod arguments given) applies only where the conf is Kubernetes'.
	c.k8s = conf.kubernetes() && wl.PodNamespace != "" && wl.PodName != ""
	if err := wl.checkWorkload(c.k8s); err != nil {
		return nil, err
	}
	c.veth = vethName(args.ContainerID, c.k8s, wl)
	return c, nil
}

// resolve determines the node name and workload identity and sets up logging.
func (c *call) resolve(verb string) error {
	node, err := c.conf.nodename()
	if err != nil {
		return err
	}
	c.resolveAs(verb, node, nil)
	if c.conf.kubernetes() {
		c.log.Debug("conf is Kubernetes' (kubernetes block or policy type k8s): pods are named as Calico names them; no Kubernetes API is read")
	}
	return nil
}

// resolveAs is resolve with the node name given, logging to log (nil: the conf's log); the
// node agent uses it for the calls it serves (broker_server.go).
func (c *call) resolveAs(verb, node string, log *zap.Logger) {
	c.node = node
	c.id = identify(node, c.args.ContainerID, c.args.IfName, c.k8s, c.workload)
	fields := []zap.Field{zap.String("verb", verb), zap.String("containerID", c.args.ContainerID),
		zap.String("ifName", c.args.IfName), zap.String("node", node), zap.String("endpoint", c.id.Name)}
	if log != nil {
		c.log = log.With(fields...)
	} else {
		c.log = newLogger(c.conf, fields...)
	}
}

func (c *call) ipamRequest(sc *store.Client) *ipamRequest {
	return &ipamRequest{
		conf: c.conf, stdin: c.args.StdinData, containerID: c.args.ContainerID, ifName: c.args.IfName,
		node: c.node, args: c.workload, id: c.id, sc: sc, log: c.log,
	}
}

// profiles are the endpoint's profiles: the network's own when the conf has no policy block
// (Calico creates it), kns.<namespace> for Kubernetes-style policy on pods.
func (c *call) profiles() []string {
	if c.conf.Policy != nil && c.conf.Policy.Type == "k8s" && c.k8s {
		return []string{"kns." + c.workload.PodNamespace}
	}
	return []string{c.conf.Name}
}

func newContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), callTimeout)
}
