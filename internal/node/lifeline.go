package node

import (
	"context"
	"io"
	"os"

	"github.com/spf13/cobra"
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
