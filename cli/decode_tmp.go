package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/brindle-net/brindle/api"
	"sigs.k8s.io/yaml"
)

// decodeDocuments stands in for api.DecodeDocuments (being written in package api) so that
// the CLI compiles meanwhile; it is removed when that lands. TEMPORARY.
func decodeDocuments(data []byte) ([]api.Resource, error) {
	var out []api.Resource
	for i, d := range strings.Split(string(data), "\n---") {
		if strings.TrimSpace(d) == "" {
			continue
		}
		j, err := yaml.YAMLToJSON([]byte(d))
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		var tm api.TypeMeta
		json.Unmarshal(j, &tm)
		k, ok := api.LookupKind(tm.Kind)
		if !ok {
			return nil, fmt.Errorf("document %d: unknown kind %q", i+1, tm.Kind)
		}
		r := k.NewResource()
		dec := json.NewDecoder(bytes.NewReader(j))
		dec.DisallowUnknownFields()
		if err := dec.Decode(r); err != nil {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		out = append(out, r)
	}
	return out, nil
}
