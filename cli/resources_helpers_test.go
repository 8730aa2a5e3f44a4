package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/brindle-net/brindle/datastore"
	"github.com/brindle-net/brindle/store"
)

// cliEnv is one embedded etcd member and a way to run the CLI in-process against it.
type cliEnv struct {
	t         *testing.T
	endpoints string
	store     *store.Client
}

func newCLIEnv(t *testing.T) *cliEnv {
	t.Helper()
	// Connection settings must come only from what each test passes.
	for _, v := range []string{"ETCD_ENDPOINTS", "ETCD_CA_CERT_FILE", "ETCD_CERT_FILE", "ETCD_KEY_FILE", "ETCD_USERNAME", "ETCD_PASSWORD"} {
		t.Setenv(v, "")
	}
	srv, cl := datastore.StartTest(t)
	return &cliEnv{t: t, endpoints: strings.Join(srv.ClientURLs(), ","), store: cl}
}

// result is what one CLI invocation printed and returned.
type result struct {
	out, errOut string
	err         error
}

// runWith runs `brindle <args>` with stdin, pointing it at the test's etcd and at a config
// file that does not exist, so a real /etc/calico/calicoctl.cfg on this machine cannot leak in.
func (e *cliEnv) runWith(stdin string, args ...string) result {
	e.t.Helper()
	full := append([]string{"brindle", "--etcd-endpoints", e.endpoints, "--config", ""}, args...)
	return runApp(stdin, full...)
}

func (e *cliEnv) run(args ...string) result { return e.runWith("", args...) }

// ok runs a command that must succeed and returns its stdout.
func (e *cliEnv) ok(stdin string, args ...string) string {
	e.t.Helper()
	r := e.runWith(stdin, args...)
	if r.err != nil {
		e.t.Fatalf("brindle %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.errOut)
	}
	return r.out
}

// fails runs a command that must fail and returns its error text.
func (e *cliEnv) fails(stdin string, args ...string) string {
	e.t.Helper()
	r := e.runWith(stdin, args...)
	if r.err == nil {
		e.t.Fatalf("brindle %s succeeded, want an error; stdout: %s", strings.Join(args, " "), r.out)
	}
	return r.err.Error()
}

func runApp(stdin string, args ...string) result {
	var out, errOut bytes.Buffer
	app := NewApp("brindle")
	app.Writer, app.ErrWriter, app.Reader = &out, &errOut, strings.NewReader(stdin)
	err := app.Run(args)
	return result{out: out.String(), errOut: errOut.String(), err: err}
}
