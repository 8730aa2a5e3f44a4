package node

import (
	"bytes"
	"encoding/json"
	"errors"
)

// decodeBlock reads a block's value. JSON null unmarshals into an empty block without an
// error, so it is refused here as ipam's reader refuses it: a null at a block key is a
// broken record to report, not a block with no affinity.
func decodeBlock(value []byte, b *blockRoutes) error {
	if v := bytes.TrimSpace(value); len(v) == 0 || v[0] != '{' {
		return errors.New("stored block is not a JSON object")
	}
	return json.Unmarshal(value, b)
}
