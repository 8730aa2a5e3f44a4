package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/brindle-net/brindle/api"
	"go.uber.org/zap"
)

// DefaultSecretsDir is where BGP passwords live: <dir>/<secret name>/<key>, the layout a
// Kubernetes secret volume gives, so a BGPPeer's password.secretKeyRef {name, key} (which
// Calico resolves from a Secret in the calico-system namespace, confd
// pkg/backends/calico/secret_watcher.go) names a file without any Kubernetes API.
const DefaultSecretsDir = "/etc/brindle/secrets"

// secretPoll is how often the loop re-reads the password files it uses.
const secretPoll = 2 * time.Second

// tcpMD5MaxKey is the kernel's TCP_MD5SIG_MAXKEYLEN.
const tcpMD5MaxKey = 80

// secretPart is a Kubernetes secret name or key: no separators, so a reference cannot
// leave the directory.
var secretPart = regexp.MustCompile(`^[-._a-zA-Z0-9]+$`)

type secretRef struct{ name, key string }

type secretRead struct{ value, problem string }

type seenSecret struct {
	read     secretRead
	optional bool
}

// secretFiles resolves password references from the secrets directory. It is used from
// the agent loop only. Each BGP sync starts a pass (begin) and the loop asks every few
// seconds whether a file the last pass read now reads differently (changed), which also
// catches the atomic symlink swap of a Kubernetes secret volume.
type secretFiles struct {
	dir  string
	log  *zap.Logger
	seen map[secretRef]seenSecret // what the last pass read
	told map[secretRef]string     // problem last logged, so each is logged once
}

func newSecretFiles(dir string, log *zap.Logger) *secretFiles {
	if dir == "" {
		dir = DefaultSecretsDir
	}
	return &secretFiles{dir: dir, log: log, seen: map[secretRef]seenSecret{}, told: map[secretRef]string{}}
}

// begin starts a resolution pass: references no longer used stop being watched.
func (s *secretFiles) begin() { s.seen = map[secretRef]seenSecret{} }

// password resolves pw; a problem (missing, unsafe or unusable file) holds the peering.
func (s *secretFiles) password(pw *api.BGPPassword) (value, problem string) {
	if pw == nil || pw.SecretKeyRef == nil {
		return "", ""
	}
	sk := pw.SecretKeyRef
	ref := secretRef{sk.Name, sk.Key}
	optional := sk.Optional != nil && *sk.Optional
	r := s.read(ref, optional)
	s.seen[ref] = seenSecret{r, optional}
	if r.problem != s.told[ref] {
		if r.problem != "" {
			s.log.Warn("BGP password unavailable; its peerings are not started", zap.String("secret", sk.Name),
				zap.String("key", sk.Key), zap.String("problem", r.problem))
		} else {
			s.log.Info("BGP password readable again", zap.String("secret", sk.Name), zap.String("key", sk.Key))
		}
		s.told[ref] = r.problem
	}
	return r.value, r.problem
}

// changed reports whether any secret read in the last pass now reads differently.
func (s *secretFiles) changed() bool {
	for ref, was := range s.seen {
		if s.read(ref, was.optional) != was.read {
			return true
		}
	}
	return false
}

func (s *secretFiles) path(ref secretRef) string { return filepath.Join(s.dir, ref.name, ref.key) }

func (s *secretFiles) read(ref secretRef, optional bool) secretRead {
	if !secretPart.MatchString(ref.name) || !secretPart.MatchString(ref.key) || ref.name == ".." || ref.key == ".." {
		return secretRead{problem: fmt.Sprintf("secretKeyRef %q/%q: name and key must be non-empty and use only letters, digits, '-', '_' and '.'", ref.name, ref.key)}
	}
	p := s.path(ref)
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) && optional {
		return secretRead{} // optional: true and absent means no password, as in Kubernetes
	}
	if err != nil {
		return secretRead{problem: fmt.Sprintf("secret file %s: %v", p, unwrapPath(err))}
	}
	if !st.Mode().IsRegular() {
		return secretRead{problem: fmt.Sprintf("secret file %s: not a regular file", p)}
	}
	// Refused rather than warned about: a password others can read protects nothing.
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return secretRead{problem: fmt.Sprintf("secret file %s: mode %04o lets group or others read it; chmod 600", p, perm)}
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return secretRead{problem: fmt.Sprintf("secret file %s: %v", p, unwrapPath(err))}
	}
	v := strings.TrimSuffix(string(b), "\n") // `echo pw > file` adds one; kubectl does not
	switch {
	case v == "":
		return secretRead{problem: fmt.Sprintf("secret file %s: empty", p)}
	case len(v) > tcpMD5MaxKey:
		return secretRead{problem: fmt.Sprintf("secret file %s: %d bytes, TCP MD5 keys are at most %d", p, len(v), tcpMD5MaxKey)}
	}
	return secretRead{value: v}
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
