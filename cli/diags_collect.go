package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"github.com/brindle-net/brindle/bgp/bgpstatus"
	"github.com/brindle-net/brindle/store"
	ucli "github.com/urfave/cli/v2"
	"golang.org/x/sys/unix"
)

// collectDiags gathers every part into d.
func collectDiags(ctx context.Context, c *ucli.Context, d *diags, name string) {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	versions := fmt.Sprintf("brindle %s (commit %s, %s, %s/%s)\nkernel: %s %s\n", Version, Commit, runtime.Version(),
		runtime.GOOS, runtime.GOARCH, unix.ByteSliceToString(uts.Release[:]), unix.ByteSliceToString(uts.Version[:]))
	for _, tool := range [][]string{{"ip", "-V"}, {"nft", "--version"}} {
		out, _ := exec.CommandContext(ctx, tool[0], tool[1:]...).CombinedOutput()
		versions += strings.TrimSpace(string(out)) + "\n"
	}
	d.add("versions.txt", []byte(versions), nil)

	// The agent: its status socket (BGP peers) and its health endpoint.
	sock := bgpstatus.SocketPath(c.String("state-dir"))
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	reply, err := bgpstatus.Fetch(sctx, sock)
	cancel()
	if err == nil {
		var table bytes.Buffer
		writeNodeStatus(&table, reply, time.Now())
		js, _ := json.MarshalIndent(reply, "", "  ")
		d.add("agent/node-status.txt", table.Bytes(), nil)
		d.add("agent/status.json", js, nil)
	} else {
		d.add("agent/node-status.txt", nil, fmt.Errorf("status socket %s: %w", sock, err))
	}
	for _, p := range []string{"readiness", "metrics"} {
		body, err := httpGet(ctx, "http://"+c.String("health")+"/"+p)
		d.add("agent/"+p+".txt", body, err)
	}
	for _, f := range []string{"nodename", "mtu"} {
		b, err := os.ReadFile(c.String("state-dir") + "/" + f)
		d.add("agent/state-"+f, b, err)
	}

	// The kernel: what brindle programs, and only brindle's nftables table.
	for _, k := range []struct {
		file string
		args []string
	}{
		{"kernel/routes.txt", []string{"ip", "-d", "route", "show", "table", "all"}},
		{"kernel/links.txt", []string{"ip", "-d", "link", "show"}},
		{"kernel/addresses.txt", []string{"ip", "addr", "show"}},
		{"kernel/neighbours.txt", []string{"ip", "neigh", "show"}},
		{"kernel/fdb-vxlan.txt", []string{"bridge", "fdb", "show", "dev", "vxlan.calico"}},
		{"kernel/nft-brindle.txt", []string{"nft", "list", "table", "ip", "brindle"}},
		{"kernel/sysctl-forwarding.txt", []string{"sysctl", "net.ipv4.ip_forward", "net.ipv4.conf.all.rp_filter"}},
	} {
		file, args := k.file, k.args
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			err = fmt.Errorf("%s: %w", strings.Join(args, " "), err)
		}
		d.add(file, out, err)
	}

	collectDatastore(ctx, c, d, name)

	// Logs: the units' journal, and a log file when the agent writes one.
	if _, err := exec.LookPath("journalctl"); err == nil {
		n := fmt.Sprint(c.Int("log-lines"))
		out, err := exec.CommandContext(ctx, "journalctl", "--no-pager", "-o", "short-iso-precise", "-n", n,
			"-u", "brindle-node", "-u", "brindle-datastore").CombinedOutput()
		d.add("logs/journal.txt", out, err)
	}
	if f := c.String("log-file"); f != "" {
		b, err := tailFile(f, c.Int("log-lines"))
		d.add("logs/"+strings.ReplaceAll(strings.TrimPrefix(f, "/"), "/", "_"), b, err)
	}
}

// collectDatastore writes this node's records (and the cluster configuration its
// behaviour depends on) as `etcdctl get --prefix` would print them: key line, value line.
func collectDatastore(ctx context.Context, c *ucli.Context, d *diags, name string) {
	st, err := storeDialer(c)
	if err != nil {
		d.add("datastore/records.txt", nil, err)
		return
	}
	defer st.Close()
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = st.Ping(pctx)
	cancel()
	if err != nil {
		d.add("datastore/records.txt", nil, fmt.Errorf("datastore %v: %w", st.Endpoints(), err))
		return
	}
	var buf bytes.Buffer
	var errs []string
	dump := func(prefix string, keep func(store.KV) bool) {
		qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		kvs, _, err := st.ListKV(qctx, prefix)
		if err != nil {
			errs = append(errs, err.Error())
			return
		}
		for _, kv := range kvs {
			if keep == nil || keep(kv) {
				fmt.Fprintf(&buf, "%s\n%s\n", kv.Key, kv.Value)
			}
		}
	}
	r := store.ResourcePrefix
	dump(r+"nodes/"+name, nil)
	dump(r+"caliconodestatuses/"+name, nil)
	dump(r+"felixconfigurations/", func(kv store.KV) bool {
		return strings.HasSuffix(kv.Key, "/default") || strings.HasSuffix(kv.Key, "/node."+name)
	})
	dump(r+"bgpconfigurations/", nil)
	dump(r+"bgppeers/", nil)
	dump(r+"ippools/", nil)
	dump(r+"workloadendpoints/", func(kv store.KV) bool {
		var w struct {
			Spec struct {
				Node string `json:"node"`
			} `json:"spec"`
		}
		return json.Unmarshal(kv.Value, &w) == nil && w.Spec.Node == name
	})
	dump(store.IPAMPrefix+"host/"+name+"/", nil)
	dump(store.IPAMPrefix+"assignment/", func(kv store.KV) bool {
		return bytes.Contains(kv.Value, []byte(`"host:`+name+`"`))
	})
	dump(store.FelixPrefix+"host/"+name+"/", nil)
	var err2 error
	if len(errs) > 0 {
		err2 = fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	d.add("datastore/records.txt", buf.Bytes(), err2)
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(hctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	return b, err
}

// tailFile returns the last n lines of a file.
func tailFile(path string, n int) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, nil), nil
}
