package cli

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/datastore"
)

// `brindle datastore run` under a Type=notify unit: READY=1 on a real NOTIFY_SOCKET once
// etcd serves (the test binary stands in for brindle, see TestMain).
func TestDatastoreNotifiesReady(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "brindle")
	if err := os.Symlink(selfBinary(t), bin); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := exec.Command(bin, "datastore", "run", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://"+datastore.FreeAddr(t), "--listen-peer-urls", "http://"+datastore.FreeAddr(t))
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // by PID
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification from the datastore: %v", err)
	}
	if msg := string(buf[:n]); !strings.Contains(msg, "READY=1") || !strings.Contains(msg, "STATUS=serving clients on http://") {
		t.Errorf("notification %q, want READY=1 and the client URLs", msg)
	}
}
