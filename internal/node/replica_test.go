package node

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/replbench/replbench/internal/transport"
	"github.com/replbench/replbench/replicas"
)

// Every key of replica-<i>.stats.json is snake_case, the transport's
// counters included, and the counters are those given.
func TestStatsKeysSnakeCase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "replica-0.stats.json")
	if err := writeStats(path, replicas.Stats{Requests: 5, BadAuth: 1}, transport.Stats{FramesIn: 7, HandshakesRejected: 2}); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]float64
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	n := 0
	for section, fields := range doc {
		for k := range fields {
			n++
			if !snake.MatchString(section) || !snake.MatchString(k) {
				t.Errorf("key %s.%s is not snake_case", section, k)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d keys: %s", n, data)
	}
	if doc["runtime"]["requests"] != 5 || doc["runtime"]["bad_auth"] != 1 ||
		doc["transport"]["frames_in"] != 7 || doc["transport"]["handshakes_rejected"] != 2 {
		t.Errorf("counters not as given: %s", data)
	}
}
