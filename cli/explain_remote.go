package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	ucli "github.com/urfave/cli/v2"
)

// statusTLSFrom builds the TLS side of the TCP status endpoint from --<prefix>-cert/key/ca,
// each defaulting to the etcd client material (flag, environment or calicoctl config). None
// at all gives nil (loopback only); a partial set is an error naming what is missing.
func statusTLSFrom(c *ucli.Context, prefix string, build func(cert, key, ca string) (*tls.Config, error)) (*tls.Config, error) {
	cfg, err := storeConfig(c)
	if err != nil {
		return nil, err
	}
	cert, key, ca := cmp.Or(c.String(prefix+"-cert"), cfg.CertFile), cmp.Or(c.String(prefix+"-key"), cfg.KeyFile),
		cmp.Or(c.String(prefix+"-ca"), cfg.CACertFile)
	if cert == "" && key == "" && ca == "" {
		return nil, nil
	}
	if cert == "" || key == "" || ca == "" {
		return nil, fmt.Errorf("--%s-cert, --%s-key and --%s-ca (or the etcd client certificate, key and CA): all three or none (have cert %q, key %q, ca %q)",
			prefix, prefix, prefix, cert, key, ca)
	}
	return build(cert, key, ca)
}

// agentClient returns the HTTP client and URL base for an agent target: a unix socket path,
// https://host:port (mutual TLS with conf), or http://<loopback>:port.
func agentClient(target string, conf *tls.Config) (*http.Client, string, error) {
	switch {
	case strings.HasPrefix(target, "https://"):
		if conf == nil {
			return nil, "", fmt.Errorf("%s: no TLS material (--agent-tls-cert/key/ca or the etcd client's)", target)
		}
		return &http.Client{Transport: &http.Transport{TLSClientConfig: conf}}, strings.TrimSuffix(target, "/"), nil
	case strings.HasPrefix(target, "http://"):
		host, _, err := net.SplitHostPort(strings.TrimPrefix(strings.TrimSuffix(target, "/"), "http://"))
		if ip, perr := netip.ParseAddr(host); err != nil || perr != nil || !ip.IsLoopback() {
			return nil, "", fmt.Errorf("%s: plain http only to a loopback address; use https://", target)
		}
		return &http.Client{}, strings.TrimSuffix(target, "/"), nil
	}
	path := target
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}, "http://brindle", nil
}

// agentTarget is where NODE's agent is asked: --agent NODE=..., else with --agent-port its
// datastore address over TLS.
func agentTarget(node string, nodeAddr netip.Addr, targets map[string]string, port int) (string, bool) {
	if t, ok := targets[node]; ok {
		return t, true
	}
	if port > 0 && nodeAddr.IsValid() {
		return "https://" + net.JoinHostPort(nodeAddr.String(), strconv.Itoa(port)), true
	}
	return "", false
}
