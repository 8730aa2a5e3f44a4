package store

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"

	"go.uber.org/zap"
)

// tlsFiles keeps an etcd client's TLS material in step with its files. Every new connection
// (the first one, and each one gRPC makes after etcd dropped or refused the last) asks it
// for the current config; it re-reads the certificate, key and CA bundle when one of them
// changed (another inode, size or modification time), so rotating them by replacing the
// files reaches a long-running agent without a restart. A half-done replacement (a new
// certificate next to the old key) fails to load: the last good material stays in use and
// the next connection tries again.
type tlsFiles struct {
	cfg Config
	log *zap.Logger

	mu     sync.Mutex
	conf   *tls.Config
	stamps []os.FileInfo // of cfg's files, in paths() order, as last loaded
	failed string        // the reload error last logged, so it is logged once
}

// newTLSFiles loads the material once; an error here is a configuration error.
func newTLSFiles(cfg Config) (*tlsFiles, error) {
	f := &tlsFiles{cfg: cfg, log: cfg.Logger}
	if f.log == nil {
		f.log = zap.NewNop()
	}
	stamps := f.stat()
	conf, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	f.conf, f.stamps = conf, stamps
	f.warnKeyMode()
	return f, nil
}

func (f *tlsFiles) paths() []string {
	var out []string
	for _, p := range []string{f.cfg.CertFile, f.cfg.KeyFile, f.cfg.CACertFile} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// stat returns the files' current stamps (nil for one that cannot be read).
func (f *tlsFiles) stat() []os.FileInfo {
	var out []os.FileInfo
	for _, p := range f.paths() {
		fi, _ := os.Stat(p)
		out = append(out, fi)
	}
	return out
}

func sameStamp(a, b os.FileInfo) bool {
	if a == nil || b == nil {
		return a == b
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// current returns the config for a new connection, reloading changed files first.
func (f *tlsFiles) current() *tls.Config {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.stat()
	changed := false
	for i := range now {
		if !sameStamp(now[i], f.stamps[i]) {
			changed = true
		}
	}
	if !changed {
		return f.conf
	}
	conf, err := loadTLS(f.cfg)
	if err != nil {
		if err.Error() != f.failed {
			f.log.Warn("etcd TLS files changed but do not load; keeping the previous ones", zap.Error(err))
			f.failed = err.Error()
		}
		return f.conf
	}
	f.conf, f.stamps, f.failed = conf, now, ""
	f.log.Info("etcd TLS files reloaded", zap.Strings("files", f.paths()))
	f.warnKeyMode()
	return f.conf
}

// warnKeyMode says so when the private key can be read by others than its owner, as ssh
// does; it does not refuse, because container runtimes mount secrets 0644 by default.
func (f *tlsFiles) warnKeyMode() {
	if f.cfg.KeyFile == "" {
		return
	}
	if fi, err := os.Stat(f.cfg.KeyFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
		f.log.Warn("etcd client key is readable by group or others; chmod 0600 it",
			zap.String("file", f.cfg.KeyFile), zap.String("mode", fmt.Sprintf("%#o", fi.Mode().Perm())))
	}
}

// loadTLS builds the client TLS config from the files (nil: plain http).
func loadTLS(cfg Config) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CACertFile != "" {
		pem, err := os.ReadFile(cfg.CACertFile)
		if err != nil {
			return nil, fmt.Errorf("ETCD_CA_CERT_FILE: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ETCD_CA_CERT_FILE %s: no PEM certificate found", cfg.CACertFile)
		}
		t.RootCAs = pool
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, fmt.Errorf("ETCD_CERT_FILE and ETCD_KEY_FILE must be given together")
	}
	if cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("ETCD_CERT_FILE/ETCD_KEY_FILE: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}
