package secure

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/brindle-net/brindle/test/testbed"
)

// ca is a test certificate authority that writes PEM files into dir.
type ca struct {
	t    *testing.T
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	File string // the CA certificate, a bundle of one
}

func newCA(t *testing.T, dir, name string) *ca {
	t.Helper()
	key := genKey(t)
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	c := &ca{t: t, dir: dir, cert: cert, key: key, File: filepath.Join(dir, name+".pem")}
	writePEM(t, c.File, "CERTIFICATE", der, 0o644)
	return c
}

// issue writes <name>.pem and <name>-key.pem (0600): a client certificate with common name
// name, and a server one too when ips are given (etcd's certificate).
func (c *ca) issue(name string, ips ...netip.Addr) testbed.CertFiles {
	c.t.Helper()
	key := genKey(c.t)
	tmpl := &x509.Certificate{SerialNumber: serial(), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, ip.AsSlice())
	}
	if len(ips) > 0 {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		c.t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		c.t.Fatal(err)
	}
	f := testbed.CertFiles{CA: c.File, Cert: filepath.Join(c.dir, name+".pem"), Key: filepath.Join(c.dir, name+"-key.pem")}
	writePEM(c.t, f.Cert, "CERTIFICATE", der, 0o644)
	writePEM(c.t, f.Key, "EC PRIVATE KEY", kder, 0o600)
	return f
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	return n
}

func writePEM(t *testing.T, path, typ string, der []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
		t.Fatal(err)
	}
}

// install copies src's files to the fixed paths a component is configured with (dst),
// each by rename over the old file, as rotation tools (cert-manager, certbot) do.
func install(t *testing.T, dst, src testbed.CertFiles) {
	t.Helper()
	for _, p := range [][2]string{{dst.CA, src.CA}, {dst.Cert, src.Cert}, {dst.Key, src.Key}} {
		b, err := os.ReadFile(p[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p[0]+".tmp", b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p[0]+".tmp", p[0]); err != nil {
			t.Fatal(err)
		}
	}
}

// env is the material as Calico's ETCD_* variables.
func env(f testbed.CertFiles) []string {
	return []string{"ETCD_CA_CERT_FILE=" + f.CA, "ETCD_CERT_FILE=" + f.Cert, "ETCD_KEY_FILE=" + f.Key}
}

// cniConf is the material as the calico CNI conf's fields.
func cniConf(f testbed.CertFiles) map[string]any {
	return map[string]any{"etcd_ca_cert_file": f.CA, "etcd_cert_file": f.Cert, "etcd_key_file": f.Key}
}
