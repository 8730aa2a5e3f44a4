package cni

import (
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"

	"github.com/brindle-net/brindle/datastore"
)

// etcdChildEnv makes the test binary an etcd member (see startEtcdProcess): a test can then
// stop etcd with SIGSTOP, which an in-process member cannot be.
const etcdChildEnv = "BCNI_ETCD_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(etcdChildEnv); spec != "" {
		os.Exit(runEtcdChild(spec))
	}
	os.Exit(m.Run())
}

// runEtcdChild serves "dataDir,clientURL,peerURL" until SIGTERM.
func runEtcdChild(spec string) int {
	parts := strings.Split(spec, ",")
	if len(parts) != 3 {
		return 2
	}
	srv, err := datastore.Start(datastore.Options{DataDir: parts[0], ClientURLs: []string{parts[1]}, PeerURLs: []string{parts[2]}})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 1
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	srv.Close()
	return 0
}
