package store_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

type certAuthority struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func newCA(t *testing.T, dir, name string) *certAuthority {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, name+".pem")
	writePEM(t, file, "CERTIFICATE", der)
	return &certAuthority{cert: cert, key: key, file: file}
}

// issue writes name.pem and name-key.pem signed by the CA; server certs carry 127.0.0.1.
func (ca *certAuthority) issue(t *testing.T, dir, name string, server bool) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile
}

func TestTLSClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir, "ca")
	other := newCA(t, dir, "other-ca")
	srvCert, srvKey := ca.issue(t, dir, "server", true)
	cliCert, cliKey := ca.issue(t, dir, "client", false)
	s, err := datastore.Start(datastore.Options{
		DataDir:    t.TempDir(),
		ClientURLs: []string{"https://" + datastore.FreeAddr(t)},
		PeerURLs:   []string{"http://" + datastore.FreeAddr(t)},
		ClientTLS:  datastore.TLSOptions{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: ca.file, ClientCertAuth: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ep := s.ClientURLs()[0]
	if !strings.HasPrefix(ep, "https://") {
		t.Fatalf("TLS member should advertise https, got %s", ep)
	}
	ctx := context.Background()

	// The environment variables Calico uses, read through ConfigFromEnv.
	t.Setenv("ETCD_ENDPOINTS", ep)
	t.Setenv("ETCD_CA_CERT_FILE", ca.file)
	t.Setenv("ETCD_CERT_FILE", cliCert)
	t.Setenv("ETCD_KEY_FILE", cliKey)
	cfg := store.ConfigFromEnv()
	cfg.DialTimeout = 3 * time.Second
	c, err := store.Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("connecting with the right CA and client cert: %v", err)
	}
	defer c.Close()
	mustCreate(t, c, pool("tls", "10.9.0.0/24"))

	cases := []struct {
		name string
		cfg  store.Config
		want []string
	}{
		{"wrong CA", store.Config{CACertFile: other.file, CertFile: cliCert, KeyFile: cliKey}, []string{ep, "x509", "unknown authority"}},
		{"no client certificate", store.Config{CACertFile: ca.file}, []string{ep, "certificate"}},
		{"cert without key", store.Config{CACertFile: ca.file, CertFile: cliCert}, []string{"ETCD_CERT_FILE and ETCD_KEY_FILE"}},
		{"missing CA file", store.Config{CACertFile: filepath.Join(dir, "nope.pem")}, []string{"ETCD_CA_CERT_FILE", "nope.pem"}},
		{"CA file holds no certificate", store.Config{CACertFile: srvKey}, []string{"ETCD_CA_CERT_FILE", "no PEM certificate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Endpoints = []string{ep}
			tc.cfg.DialTimeout = 2 * time.Second
			c, err := store.Connect(ctx, tc.cfg)
			if err == nil {
				c.Close()
				t.Fatal("connected; want an error")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConnectClosedPortFailsWithinTimeout(t *testing.T) {
	ep := "http://" + datastore.FreeAddr(t) // nothing listens there any more
	start := time.Now()
	c, err := store.Connect(context.Background(), store.Config{Endpoints: []string{ep}, DialTimeout: time.Second})
	if err == nil {
		c.Close()
		t.Fatal("connected to a closed port")
	}
	// A generous bound: the point is that it does not hang, not how fast it is.
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("took %s with a 1s dial timeout", d)
	}
	for _, w := range []string{ep, "connection refused"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}
