package cli

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// testBuild packs /bin/true as a server build: something small that can be exec'd.
func testBuild(t *testing.T) (serverBuild, []byte) {
	t.Helper()
	raw, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Skip("no /bin/true to stand in for the server build")
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	sum := sha256.Sum256(raw)
	return serverBuild{gz: gz.Bytes(), sum: hex.EncodeToString(sum[:])}, raw
}

// runFd runs the program open on f in a child, as execFile would in this process.
func runFd(t *testing.T, f *os.File) error {
	t.Helper()
	cmd := exec.Command("/proc/self/fd/3")
	cmd.ExtraFiles = []*os.File{f}
	return cmd.Run()
}

// The cached build is only ever used after its content matched the recorded sum: a damaged
// or edited file is replaced, never exec'd; a directory others can write is refused.
func TestServerBuildCacheVerified(t *testing.T) {
	sb, raw := testBuild(t)
	dir := filepath.Join(t.TempDir(), "cache")
	f, err := sb.cached(dir)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	path := filepath.Join(dir, "brindle-server-"+sb.sum)
	if got, _ := os.ReadFile(path); !bytes.Equal(got, raw) {
		t.Fatal("cached file differs from the payload")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".brindle-server-*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
	// Damage the cached file: it must be detected and rewritten.
	bad := append([]byte{}, raw...)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(path, bad, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err = sb.cached(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := runFd(t, f); err != nil {
		t.Fatalf("exec of the verified build: %v", err)
	}
	f.Close()
	if got, _ := os.ReadFile(path); !bytes.Equal(got, raw) {
		t.Fatal("damaged cached file was not replaced")
	}
	// A build of another version is removed; a symlink in place of the file is not followed.
	other := filepath.Join(dir, "brindle-server-other")
	os.WriteFile(other, raw, 0o755)
	os.Remove(path)
	if err := os.Symlink("/bin/true", path); err != nil {
		t.Fatal(err)
	}
	if f, err = sb.cached(dir); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st, err := os.Lstat(path); err != nil || !st.Mode().IsRegular() {
		t.Fatalf("symlink not replaced by the build: %v %v", st, err)
	}
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatal("other build not removed")
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := sb.cached(dir); err == nil || !strings.Contains(err.Error(), "private") {
		t.Fatalf("world-writable cache directory: want a refusal, got %v", err)
	}
	// A payload that does not match its sum is never written out.
	sb.sum = strings.Repeat("0", 64)
	if _, err := sb.cached(t.TempDir()); err == nil {
		t.Fatal("payload with a wrong sum accepted")
	}
}

// The memory-file fallback works where vm.memfd_noexec=1 makes memory files non-executable
// unless MFD_EXEC is asked for. The sysctl is per PID namespace, so the check runs in a
// child in a namespace of its own and the host's setting is left alone.
func TestServerBuildMemfdExec(t *testing.T) {
	sb, _ := testBuild(t)
	if os.Getenv("BRINDLE_TEST_MEMFD_CHILD") != "" {
		if err := os.WriteFile("/proc/sys/vm/memfd_noexec", []byte("1"), 0); err != nil {
			t.Skipf("vm.memfd_noexec: %v", err)
		}
		f, err := sb.memfd()
		if err != nil {
			t.Fatal(err)
		}
		if err := runFd(t, f); err != nil {
			t.Fatalf("exec of the memory file with vm.memfd_noexec=1: %v", err)
		}
		if _, err := f.Write([]byte("x")); err == nil {
			t.Fatal("sealed memory file accepted a write")
		}
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a PID namespace")
	}
	if _, err := os.Stat("/proc/sys/vm/memfd_noexec"); err != nil {
		t.Skip("kernel without vm.memfd_noexec")
	}
	cmd := exec.Command("unshare", "--pid", "--fork", "--mount-proc", os.Args[0], "-test.run=^TestServerBuildMemfdExec$", "-test.v")
	cmd.Env = append(os.Environ(), "BRINDLE_TEST_MEMFD_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Skipf("child skipped:\n%s", out)
	}
}
