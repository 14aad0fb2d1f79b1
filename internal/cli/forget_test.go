package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/keys"
)

// TestForgetKeys checks that replicas and load generators started with
// --forget-keys (as on remote hosts) delete their own private key files
// once loaded, and only those.
func TestForgetKeys(t *testing.T) {
	dir := t.TempDir()
	kd := filepath.Join(dir, "keys")
	if err := keys.Generate(keys.Ed25519, kd, 1, 2, keys.GenOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg := &cluster.Config{
		Protocol: "unreplicated", Replicas: []string{freeAddr(t)}, Clients: 2,
		ReplicaScheme: keys.Ed25519, ClientScheme: keys.Ed25519, ReplicaKeys: kd, ClientKeys: kd, App: "echo",
	}
	cfgPath := filepath.Join(dir, "cluster.json")
	if err := cfg.Write(cfgPath); err != nil {
		t.Fatal(err)
	}
	exists := func(p keys.Principal, private bool) bool {
		f := keys.PublicKeyFile(kd, p)
		if private {
			f = keys.KeyFile(kd, p)
		}
		_, err := os.Stat(f)
		return err == nil
	}
	startReplica(t, cfgPath, 0, "--forget-keys")
	if exists(keys.Replica(0), true) || !exists(keys.Replica(0), false) {
		t.Error("after the replica started: want replica-0.key deleted and replica-0.pub kept")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, stderr, err := runCLI(ctx, "client", "--config", cfgPath, "--out", dir, "--first", "1", "--clients", "1",
		"--warmup", "0s", "--duration", "200ms", "--cooldown", "0s", "--forget-keys"); err != nil {
		t.Fatalf("client: %v\n%s", err, stderr)
	}
	if exists(keys.Client(1), true) || !exists(keys.Client(0), true) || !exists(keys.Client(1), false) {
		t.Error("after client 1 ran: want client-1.key deleted, client-0.key and client-1.pub kept")
	}
}
