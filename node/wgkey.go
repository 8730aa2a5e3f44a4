package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/brindle-net/brindle/calc"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"
)

// WireguardKeyFile is the node's WireGuard private key in the state dir. It never leaves the
// node: only the public key is published (status.wireguardPublicKey). Deleting the file and
// restarting the agent rotates the key.
const WireguardKeyFile = "wireguard-private-key"

// WireguardKeyFileV6 is the IPv6 device's private key: felix's IPv6 device has a key of its
// own (status.wireguardPublicKeyV6), so it is a second file.
const WireguardKeyFileV6 = "wireguard-private-key-v6"

// wireguardKeyFile is fam's key file.
func wireguardKeyFile(fam calc.WireguardFamily) string {
	if fam.IPv6 {
		return WireguardKeyFileV6
	}
	return WireguardKeyFile
}

// loadWireguardKey reads the node's private key, creating it (mode 0600) on first use. It
// reports whether it created one. A file that does not hold a key is an error naming it:
// replacing it silently would change the node's identity behind the operator's back.
func loadWireguardKey(dir, file string) (wgtypes.Key, bool, error) {
	path := filepath.Join(dir, file)
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := wgtypes.ParseKey(strings.TrimSpace(string(b)))
		if err != nil {
			return wgtypes.Key{}, false, fmt.Errorf("%s: not a WireGuard private key (%v); delete it to generate a new one", path, err)
		}
		if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(path, 0o600); err != nil {
				return wgtypes.Key{}, false, fmt.Errorf("%s: %w", path, err)
			}
		}
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return wgtypes.Key{}, false, fmt.Errorf("reading the WireGuard key: %w", err)
	}
	k, err := wgtypes.GeneratePrivateKey()
	if err != nil {
		return wgtypes.Key{}, false, fmt.Errorf("generating a WireGuard key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return wgtypes.Key{}, false, fmt.Errorf("state dir %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+file+".*") // CreateTemp makes it 0600
	if err != nil {
		return wgtypes.Key{}, false, fmt.Errorf("state dir %s: %w", dir, err)
	}
	_, werr := tmp.WriteString(k.String() + "\n")
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return wgtypes.Key{}, false, fmt.Errorf("writing %s: %w", path, werr)
	}
	return k, true, nil
}
