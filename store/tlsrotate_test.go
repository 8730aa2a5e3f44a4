package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// replaceFile puts src's content at dst the way rotation tools do: a new file renamed over
// the old one (a new inode).
func replaceFile(t *testing.T, dst, src string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	tmp := dst + ".new"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// TestTLSRotationByFileReplacement: a client keeps working, without being rebuilt, across a
// rotation that replaces its certificate, key and CA bundle, while the server restarts
// trusting only the new CA (so the old certificate can no longer be the one in use).
func TestTLSRotationByFileReplacement(t *testing.T) {
	dir, cdir := t.TempDir(), t.TempDir()
	ca1 := newCA(t, dir, "ca1")
	srvCert, srvKey := ca1.issue(t, dir, "server1", true)
	oldCert, oldKey := ca1.issue(t, dir, "agent-old", false)
	certFile, keyFile, caFile := filepath.Join(cdir, "agent.pem"), filepath.Join(cdir, "agent-key.pem"), filepath.Join(cdir, "ca.pem")
	replaceFile(t, certFile, oldCert)
	replaceFile(t, keyFile, oldKey)
	replaceFile(t, caFile, ca1.file)

	opts := datastore.Options{
		DataDir:    t.TempDir(),
		ClientURLs: []string{"https://" + datastore.FreeAddr(t)},
		PeerURLs:   []string{"http://" + datastore.FreeAddr(t)},
		ClientTLS:  datastore.TLSOptions{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: ca1.file, ClientCertAuth: true},
	}
	s, err := datastore.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ep := s.ClientURLs()[0]
	ctx := context.Background()
	cfg := store.Config{Endpoints: []string{ep}, CACertFile: caFile, CertFile: certFile, KeyFile: keyFile, DialTimeout: 2 * time.Second}
	c, err := store.Connect(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mustCreate(t, c, pool("before", "10.9.1.0/24"))

	// Rotate everything: a new CA signs the client's and the server's new certificates.
	ca2 := newCA(t, dir, "ca2")
	newCert, newKey := ca2.issue(t, dir, "agent-new", false)
	srv2Cert, srv2Key := ca2.issue(t, dir, "server2", true)
	replaceFile(t, caFile, ca2.file)
	replaceFile(t, certFile, newCert)
	replaceFile(t, keyFile, newKey)
	s.Close()
	opts.ClientTLS = datastore.TLSOptions{CertFile: srv2Cert, KeyFile: srv2Key, TrustedCAFile: ca2.file, ClientCertAuth: true}
	if s, err = datastore.Start(opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	// The same client, not rebuilt, reconnects with the new files.
	start := time.Now()
	var werr error
	for time.Since(start) < 20*time.Second {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, werr = c.Create(wctx, pool("after", "10.9.2.0/24"))
		cancel()
		if werr == nil || errors.Is(werr, store.ErrAlreadyExists) {
			werr = nil
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if werr != nil {
		t.Fatalf("write after rotation: %v", werr)
	}
	t.Logf("first write after the server restart succeeded after %s", time.Since(start).Round(time.Millisecond))

	// The old material is refused now: the rotation really replaced what is in use.
	old := store.Config{Endpoints: []string{ep}, CACertFile: ca1.file, CertFile: oldCert, KeyFile: oldKey, DialTimeout: 2 * time.Second}
	if oc, err := store.Connect(ctx, old); err == nil {
		oc.Close()
		t.Fatal("a client with the old CA and certificate still connects")
	}
}

// TestTLSHalfRotationKeepsOldMaterial: a certificate replaced before its key does not load;
// the client keeps the previous pair instead of failing its next connection.
func TestTLSHalfRotationKeepsOldMaterial(t *testing.T) {
	dir, cdir := t.TempDir(), t.TempDir()
	ca := newCA(t, dir, "ca")
	srvCert, srvKey := ca.issue(t, dir, "server", true)
	c1, k1 := ca.issue(t, dir, "one", false)
	c2, _ := ca.issue(t, dir, "two", false)
	certFile, keyFile := filepath.Join(cdir, "c.pem"), filepath.Join(cdir, "k.pem")
	replaceFile(t, certFile, c1)
	replaceFile(t, keyFile, k1)
	opts := datastore.Options{DataDir: t.TempDir(), ClientURLs: []string{"https://" + datastore.FreeAddr(t)},
		PeerURLs:  []string{"http://" + datastore.FreeAddr(t)},
		ClientTLS: datastore.TLSOptions{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: ca.file, ClientCertAuth: true}}
	s, err := datastore.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfg := store.Config{Endpoints: s.ClientURLs(), CACertFile: ca.file, CertFile: certFile, KeyFile: keyFile, DialTimeout: 2 * time.Second}
	c, err := store.Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	replaceFile(t, certFile, c2) // the key still belongs to c1
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("ping with a half-replaced pair: %v", err)
	}
}

// TestEtcdUsernamePassword enables etcd authentication (root, and a user whose role may
// read and write /calico/ only) and connects as Calico's etcdUsername/etcdPassword would.
func TestEtcdUsernamePassword(t *testing.T) {
	s, admin := datastore.StartTest(t)
	if err := datastore.EnableAuth(context.Background(), admin.Etcd(), "r00t", "brindle", "s3cret"); err != nil {
		t.Fatal(err)
	}
	ep := s.ClientURLs()
	ctx := context.Background()
	c, err := store.Connect(ctx, store.Config{Endpoints: ep, Username: "brindle", Password: "s3cret"})
	if err != nil {
		t.Fatalf("right password: %v", err)
	}
	defer c.Close()
	if err := c.EnsureInitialized(ctx); err != nil {
		t.Fatalf("initialising as the brindle user: %v", err)
	}
	mustCreate(t, c, pool("auth", "10.9.3.0/24"))

	cases := []struct {
		name string
		cfg  store.Config
		want string
	}{
		{"wrong password", store.Config{Username: "brindle", Password: "nope"}, "user name or password refused"},
		{"no credentials", store.Config{}, "authentication is enabled"},
		{"user without password", store.Config{Username: "brindle"}, "must be given together"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Endpoints, tc.cfg.DialTimeout = ep, 2*time.Second
			c, err := store.Connect(ctx, tc.cfg)
			if err == nil {
				c.Close()
				t.Fatal("connected; want an error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

// TestCertFilesWithHTTPEndpoint: certificate files next to an http endpoint stay unused,
// as they were before the files were reloadable.
func TestCertFilesWithHTTPEndpoint(t *testing.T) {
	s, _ := datastore.StartTest(t)
	dir := t.TempDir()
	ca := newCA(t, dir, "ca")
	cert, key := ca.issue(t, dir, "client", false)
	c, err := store.Connect(context.Background(), store.Config{Endpoints: s.ClientURLs(), CACertFile: ca.file, CertFile: cert, KeyFile: key, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// TestEtcdUserFromCertificate: with client certificates and etcd's authentication both on,
// etcd takes the certificate's common name as the user, so each component's certificate
// can carry its own role; a certificate the CA signed for a name etcd does not know reads
// nothing.
func TestEtcdUserFromCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, dir, "ca")
	srvCert, srvKey := ca.issue(t, dir, "server", true)
	adminCert, adminKey := ca.issue(t, dir, "admin", false)
	userCert, userKey := ca.issue(t, dir, "brindle", false)
	strangerCert, strangerKey := ca.issue(t, dir, "stranger", false)
	s, err := datastore.Start(datastore.Options{DataDir: t.TempDir(), ClientURLs: []string{"https://" + datastore.FreeAddr(t)},
		PeerURLs:  []string{"http://" + datastore.FreeAddr(t)},
		ClientTLS: datastore.TLSOptions{CertFile: srvCert, KeyFile: srvKey, TrustedCAFile: ca.file, ClientCertAuth: true}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	ctx := context.Background()
	conf := func(cert, key string) store.Config {
		return store.Config{Endpoints: s.ClientURLs(), CACertFile: ca.file, CertFile: cert, KeyFile: key, DialTimeout: 2 * time.Second}
	}
	admin, err := store.Connect(ctx, conf(adminCert, adminKey))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := datastore.EnableAuth(ctx, admin.Etcd(), "r00t", "brindle", "unused"); err != nil {
		t.Fatal(err)
	}
	c, err := store.Connect(ctx, conf(userCert, userKey))
	if err != nil {
		t.Fatalf("certificate with common name brindle: %v", err)
	}
	defer c.Close()
	mustCreate(t, c, pool("by-cn", "10.9.4.0/24"))
	if sc, err := store.Connect(ctx, conf(strangerCert, strangerKey)); err == nil {
		sc.Close()
		t.Fatal("a certificate for a name etcd has no user for could read /calico/")
	} else {
		t.Log(err)
	}
}
