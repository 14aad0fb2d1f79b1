package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/internal/cluster"
	"github.com/replbench/replbench/keys"
)

// watchStdinUsage is the help text of the --watch-stdin flag both commands share.
const watchStdinUsage = "exit when stdin reaches end of file: 'run' keeps it open over SSH, so a dropped connection or a killed orchestrator leaves nothing running on the host"

// lifeline derives the command's context. With watch set it also ends when
// stdin is closed: on a remote host stdin is the SSH session's, and its end
// means nobody is left to stop the process.
func lifeline(cmd *cobra.Command, watch bool) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(cmd.Context())
	if watch {
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			cancel()
		}()
	}
	return ctx, cancel
}

// forgetKeysUsage is the help text of the --forget-keys flag both commands share.
const forgetKeysUsage = "delete this process's own private key files once they are loaded: 'run' sets it on remote hosts, so no private key stays on a host's disk even if the orchestrator dies"

// forgetKeys removes the private key files of principals from the cluster's
// key directories once their authenticators are in memory. Public keys
// stay; a file already gone is fine.
func forgetKeys(cfg *cluster.Config, ps ...keys.Principal) error {
	for _, p := range ps {
		for _, dir := range []string{cfg.ReplicaKeys, cfg.ClientKeys} {
			if err := os.Remove(keys.KeyFile(dir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("--forget-keys: %w", err)
			}
		}
	}
	return nil
}
