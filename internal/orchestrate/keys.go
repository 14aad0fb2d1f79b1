package orchestrate

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/replbench/replbench/keys"
)

// keyCache generates key sets once per scheme and cluster size.
type keyCache struct {
	mu   sync.Mutex
	made map[string]bool
}

// get returns a directory under root holding keys for scheme with n
// replicas and c clients, generating them on first use.
func (k *keyCache) get(root string, scheme keys.Scheme, n, c, rsaBits int) (string, error) {
	dir := filepath.Join(root, fmt.Sprintf("%s-r%d-c%d-b%d", scheme, n, c, rsaBits))
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.made == nil {
		k.made = make(map[string]bool)
	}
	if k.made[dir] {
		return dir, nil
	}
	if err := keys.Generate(scheme, dir, n, c, keys.GenOptions{RSABits: rsaBits, Force: true}); err != nil {
		return "", fmt.Errorf("generate %s keys: %w", scheme, err)
	}
	k.made[dir] = true
	return dir, nil
}
