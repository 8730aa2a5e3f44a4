package bgpbench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brindle-net/brindle/bgp"
)

const helperEnv = "BBGP_BENCH_HELPER"

// helperConfig is one speaker run in its own process, so its memory can be read alone.
type helperConfig struct {
	Opts    bgp.Options
	Peers   []bgp.Peer
	Adverts []bgp.Advertisement
}

// TestSpeakerHelper is not a test: the memory benchmark re-executes the test binary with it.
// It runs one speaker and prints a STAT line every 200 ms until stopped by PID.
func TestSpeakerHelper(t *testing.T) {
	raw := os.Getenv(helperEnv)
	if raw == "" {
		t.Skip("helper process for BenchmarkMemoryRR200 only")
	}
	var c helperConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	s, err := bgp.Start(ctx, c.Opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetPeers(ctx, c.Peers); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAdvertisements(ctx, c.Adverts); err != nil {
		t.Fatal(err)
	}
	go func() { // the agent's loop: drain what is learned
		for range s.LearnedReady() {
			s.DrainLearned()
		}
	}()
	for {
		up := 0
		for _, p := range s.Status().Peers {
			if p.State == "up" {
				up++
			}
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		fmt.Printf("STAT up=%d learned=%d heapInuse=%d heapSys=%d goroutines=%d\n",
			up, len(s.LearnedRoutes()), m.HeapInuse, m.HeapSys, runtime.NumGoroutine())
		time.Sleep(200 * time.Millisecond)
	}
}

// helperProc is a running helper; Stat holds its latest STAT fields.
type helperProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	stat map[string]int64
}

func startHelper(b *testing.B, c helperConfig) *helperProc {
	raw, err := json.Marshal(c)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSpeakerHelper$", "-test.v")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(raw))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	h := &helperProc{cmd: cmd, stat: map[string]int64{}}
	b.Cleanup(func() { // by PID, never by name
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) == 0 || f[0] != "STAT" {
				continue
			}
			h.mu.Lock()
			for _, kv := range f[1:] {
				k, v, _ := strings.Cut(kv, "=")
				h.stat[k], _ = strconv.ParseInt(v, 10, 64)
			}
			h.mu.Unlock()
		}
	}()
	return h
}

func (h *helperProc) get(k string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stat[k]
}

// procKB reads VmRSS or VmHWM (kB) of the helper from /proc.
func (h *helperProc) procKB(field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return -1
}

func speakerOpts(addr netip.Addr, port uint16) bgp.Options {
	return bgp.Options{RouterID: addr, AS: benchAS, ListenPort: int32(port),
		ListenAddresses: []netip.Addr{addr}, ConnectRetry: time.Second}
}
