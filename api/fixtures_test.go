package api

import (
	"os"
	"path/filepath"
)

// readFixture reads a file under the repository's test/fixtures.
func readFixture(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join("..", "test", "fixtures", name))
}
