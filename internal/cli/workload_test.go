package cli_test

import (
	"context"
	"strings"
	"testing"
)

// TestClientWorkloadFlags checks that a bad workload is refused before the
// client dials the cluster (whose replica address has no listener here).
func TestClientWorkloadFlags(t *testing.T) {
	cfg := unreachableCluster(t) // runs the null app
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"unknown workload", []string{"--workload", "zipf"}, `unknown --workload "zipf" (want fixed or ycsb)`},
		{"ycsb on the null app", []string{"--workload", "ycsb"}, `--workload ycsb sends key-value operations, but the cluster runs app "null", not kv`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runCLI(context.Background(), append([]string{"client", "--config", cfg, "--connect-timeout", "300ms"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("client %v: %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
