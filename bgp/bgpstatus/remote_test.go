package bgpstatus

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// TestTCPStatusTLS: the TCP endpoint answers a client holding a certificate of the same CA
// (client-auth-only certificates on both ends, as etcd client material is), and refuses a
// client of another CA or without a certificate; without TLS it only binds loopback.
func TestTCPStatusTLS(t *testing.T) {
	dir := t.TempDir()
	good, err := testbed.WriteCerts(dir, "cluster")
	if err != nil {
		t.Fatal(err)
	}
	other, err := testbed.WriteCerts(dir, "other")
	if err != nil {
		t.Fatal(err)
	}
	srvConf, err := ServerTLS(good.Cert, good.Key, good.CA)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ListenTCP("127.0.0.1:0", srvConf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Serve(ctx, ln, Handler(nil))
	get := func(certs testbed.CertFiles, ca string) error {
		conf, err := ClientTLS(certs.Cert, certs.Key, ca)
		if err != nil {
			return err
		}
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
		resp, err := c.Get("https://" + ln.Addr().String() + Path)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := get(good, good.CA); err != nil {
		t.Errorf("client of the cluster's CA: %v", err)
	}
	if err := get(other, good.CA); err == nil {
		t.Error("a client certificate of another CA was accepted")
	}
	if err := get(good, other.CA); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a server of another CA was trusted: %v", err)
	}
	plain := &http.Client{Timeout: 5 * time.Second}
	if resp, err := plain.Get("http://" + ln.Addr().String() + Path); err == nil && resp.StatusCode == http.StatusOK {
		t.Error("plain HTTP got an answer from the TLS endpoint")
	}
	if _, err := ListenTCP("192.0.2.1:0", nil); err == nil || !strings.Contains(err.Error(), "only a loopback address") {
		t.Errorf("unauthenticated non-loopback listener: %v", err)
	}
	l, err := ListenTCP("127.0.0.1:0", nil)
	if err != nil {
		t.Errorf("loopback without TLS: %v", err)
	} else {
		l.Close()
	}
}
