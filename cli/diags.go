package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	ucli "github.com/urfave/cli/v2"
)

// nodeDiagsCommand is `brindle node diags`: one tarball with what a bug report needs
// (calicoctl node diags' idea, for brindle). Every part that cannot be collected says why
// in its own file; one missing part never stops the rest.
func nodeDiagsCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "diags",
		Usage: "write a diagnostics tarball: agent status, peers, kernel routes/links/nft, datastore records, logs, versions",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "tarball to write (default: ./brindle-diags-<node>-<time>.tar.gz)"},
			&ucli.StringFlag{Name: "name", EnvVars: []string{"NODENAME"}, Usage: "node name (default: <state-dir>/nodename, else the hostname)"},
			&ucli.StringFlag{Name: "state-dir", EnvVars: []string{"BRINDLE_STATE_DIR"}, Value: "/var/lib/calico", Usage: "the agent's state directory"},
			&ucli.StringFlag{Name: "health", Value: "127.0.0.1:9099", Usage: "the agent's health endpoint (readiness and /metrics)"},
			&ucli.StringFlag{Name: "log-file", Usage: "also include the tail of this log file (an agent not run by systemd)"},
			&ucli.IntFlag{Name: "log-lines", Value: 5000, Usage: "how many recent log lines"},
		},
		Action: runNodeDiags,
	}
}

func runNodeDiags(c *ucli.Context) error {
	name := diagsNodeName(c.String("name"), c.String("state-dir"))
	stamp := time.Now().UTC().Format("20060102T150405Z")
	out := c.String("output")
	if out == "" {
		out = fmt.Sprintf("brindle-diags-%s-%s.tar.gz", name, stamp)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := &diags{dir: fmt.Sprintf("brindle-diags-%s-%s", name, stamp)}
	collectDiags(ctx, c, d, name)
	if err := d.write(out); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	fmt.Fprintf(c.App.Writer, "wrote %s (%d files", out, len(d.files))
	if n := len(d.failed); n > 0 {
		fmt.Fprintf(c.App.Writer, "; %d could not be collected: %s", n, strings.Join(d.failed, ", "))
	}
	fmt.Fprintln(c.App.Writer, ")")
	return nil
}

// diagsNodeName resolves the node as the agent does: flag, the state dir's nodename, hostname.
func diagsNodeName(flag, stateDir string) string {
	if flag != "" {
		return flag
	}
	if b, err := os.ReadFile(filepath.Join(stateDir, "nodename")); err == nil && strings.TrimSpace(string(b)) != "" {
		return strings.TrimSpace(string(b))
	}
	h, _ := os.Hostname()
	return h
}

// diags collects named files in memory; the tarball is written at the end.
type diags struct {
	dir    string
	files  []diagFile
	failed []string
}

type diagFile struct {
	name string
	data []byte
}

// add records a part; a collection error becomes the file's content, so the tarball says
// what could not be read and why.
func (d *diags) add(name string, data []byte, err error) {
	if err != nil {
		d.failed = append(d.failed, name)
		data = append(data, []byte(fmt.Sprintf("\n# could not collect: %v\n", err))...)
	}
	d.files = append(d.files, diagFile{name: name, data: data})
}

func (d *diags) write(path string) error {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	now := time.Now()
	for _, f := range d.files {
		h := &tar.Header{Name: d.dir + "/" + f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: now, Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := gz.Close(); err != nil {
		return err
	}
	// Private: datastore records and logs may name hosts and addresses.
	return writeFileAtomic(path, buf.Bytes(), 0o600)
}
