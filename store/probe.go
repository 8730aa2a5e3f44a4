package store

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// probeEndpoints dials each endpoint directly (TCP, then the TLS handshake for https) and
// returns the first concrete failure, naming the endpoint; nil if every one answers.
func probeEndpoints(endpoints []string, tlsCfg *tls.Config, timeout time.Duration) error {
	if timeout > 3*time.Second {
		timeout = 3 * time.Second
	}
	var first error
	for _, e := range endpoints {
		if err := probe(e, tlsCfg, timeout); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func probe(endpoint string, tlsCfg *tls.Config, timeout time.Duration) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("endpoint %q is not a URL like http://127.0.0.1:2379", endpoint)
	}
	d := &net.Dialer{Timeout: timeout}
	if u.Scheme != "https" {
		conn, err := d.Dial("tcp", u.Host)
		if err != nil {
			return fmt.Errorf("endpoint %s: %w", endpoint, err)
		}
		conn.Close()
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if tlsCfg != nil {
		cfg = tlsCfg.Clone()
	}
	if cfg.ServerName == "" {
		cfg.ServerName = u.Hostname()
	}
	conn, err := tls.DialWithDialer(d, "tcp", u.Host, cfg)
	if err != nil {
		return fmt.Errorf("endpoint %s: TLS: %w", endpoint, err)
	}
	defer conn.Close()
	// With TLS 1.3 a server that rejects our client certificate says so only after the
	// handshake; a short read surfaces that alert.
	_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := conn.Read(make([]byte, 1)); err != nil {
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			if len(cfg.Certificates) > 0 && strings.Contains(err.Error(), "certificate required") {
				// Go offers a certificate only when its issuer is one the server named.
				return fmt.Errorf("endpoint %s: TLS: %w (the client certificate was not offered: etcd accepts certificates from other CAs only; check its --trusted-ca-file)", endpoint, err)
			}
			return fmt.Errorf("endpoint %s: TLS: %w", endpoint, err)
		}
	}
	return nil
}
