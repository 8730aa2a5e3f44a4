package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// dockerAPI is the little of Docker's Engine API the plugin reads: a network's name and the
// labels of the container on an endpoint (the plugin protocol carries neither).
type dockerAPI struct{ hc *http.Client }

func newDockerAPI(host string) *dockerAPI {
	path := strings.TrimPrefix(host, "unix://")
	return &dockerAPI{hc: &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}}
}

func (a *dockerAPI) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/v1.40"+path, nil)
	if err != nil {
		return err
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (a *dockerAPI) networkName(ctx context.Context, id string) (string, error) {
	var n struct{ Name string }
	err := a.get(ctx, "/networks/"+url.PathEscape(id), &n)
	return n.Name, err
}

// endpointLabels finds the container attached through endpointID and returns its labels.
func (a *dockerAPI) endpointLabels(ctx context.Context, networkID, endpointID string) (map[string]string, bool, error) {
	var n struct {
		Containers map[string]struct{ EndpointID string }
	}
	if err := a.get(ctx, "/networks/"+url.PathEscape(networkID), &n); err != nil {
		return nil, false, err
	}
	for cid, c := range n.Containers {
		if c.EndpointID != endpointID {
			continue
		}
		var ct struct {
			Config struct{ Labels map[string]string }
		}
		if err := a.get(ctx, "/containers/"+url.PathEscape(cid)+"/json", &ct); err != nil {
			return nil, false, err
		}
		return ct.Config.Labels, true, nil
	}
	return nil, false, nil
}
