package cluster

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Scrape fetches the agent's /metrics from port (the health port, or Felix's
// prometheusMetricsPort) inside the host's namespace, as Prometheus on that host would.
func (a *Agent) Scrape(port int) (string, error) {
	var conn net.Conn
	err := a.Host.Netns.Do(func() error {
		var err error
		conn, err = net.DialTimeout("tcp", netAddr(port), time.Second)
		return err
	})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(conn, "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n"); err != nil {
		return "", err
	}
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if f := strings.Fields(status); len(f) < 2 || f[1] != "200" {
		return "", fmt.Errorf("/metrics answered %q", strings.TrimSpace(status))
	}
	for { // headers
		l, err := r.ReadString('\n')
		if err != nil {
			return "", err
		}
		if strings.TrimSpace(l) == "" {
			break
		}
	}
	body, err := io.ReadAll(r)
	return string(body), err
}

// Metric returns the value of the sample named exactly series (with its labels, e.g.
// `brindle_bgp_peers{state="Established"}`) in a Prometheus text exposition.
func Metric(body, series string) (float64, bool) {
	for _, l := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(l, series+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}
