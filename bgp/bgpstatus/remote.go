package bgpstatus

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
)

// The status endpoint can also listen on TCP (`node run --status-listen`) so that `brindle
// explain` run on one host reaches the other hosts' agents. It is authenticated the way the
// datastore is: mutual TLS with the etcd client material, both ends holding a certificate
// the cluster's CA signed. Without TLS material it may only listen on loopback.

// ServerTLS is the agent's side: it presents its certificate and requires one from the
// client that verifies against the CA.
func ServerTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, pool, err := loadTLS(certFile, keyFile, caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

// ClientTLS is the CLI's side. The agent presents its etcd client certificate, which names
// no host and need not allow server use; what makes it trusted is the CA's signature, so
// the chain is verified against the CA for any key usage instead of by host name.
func ClientTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, pool, err := loadTLS(certFile, keyFile, caFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyPeerCertificate below, never skipped
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the agent presented no certificate")
			}
			certs := make([]*x509.Certificate, len(raw))
			for i, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs[i] = c
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: pool, Intermediates: inter,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
			return err
		}}, nil
}

func loadTLS(certFile, keyFile, caFile string) (tls.Certificate, *x509.CertPool, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, nil, fmt.Errorf("certificate %s / key %s: %w", certFile, keyFile, err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return cert, nil, fmt.Errorf("CA %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return cert, nil, fmt.Errorf("CA %s: no PEM certificate in it", caFile)
	}
	return cert, pool, nil
}

// ListenTCP opens the TCP status listener on addr (host:port). With conf nil the host must
// be a loopback address: an unauthenticated endpoint never faces the network.
func ListenTCP(addr string, conf *tls.Config) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--status-listen %q: want host:port: %w", addr, err)
	}
	if conf == nil {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.IsLoopback() {
			return nil, fmt.Errorf("--status-listen %q: without TLS material (the etcd client certificate, key and CA, or --status-tls-*) only a loopback address is allowed", addr)
		}
		return net.Listen("tcp", addr)
	}
	return tls.Listen("tcp", addr, conf)
}
