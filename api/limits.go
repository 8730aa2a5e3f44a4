package api

import "fmt"

// MaxManifestBytes bounds one manifest given to DecodeDocuments (brindle apply, create,
// replace -f). Every document ends up as one etcd value, which etcd refuses above its request
// limit (1.5 MiB by default), and ten thousand policies take about 5 MB; 32 MiB leaves room
// for generated bulk files while a mistaken 100 MB file or an endless stdin is refused before
// it is parsed. Nesting depth and YAML aliases are bounded by the decoders themselves:
// encoding/json and go-yaml stop at 10,000 levels, and go-yaml refuses documents whose
// aliases expand far beyond their size ("billion laughs"). docs/security.md, Input limits.
const MaxManifestBytes = 32 << 20

// ManifestTooLarge is the error for input over MaxManifestBytes; what names the input.
func ManifestTooLarge(what string) error {
	return fmt.Errorf("%s is larger than the %d MiB limit for one manifest (split it into several files)", what, MaxManifestBytes>>20)
}
