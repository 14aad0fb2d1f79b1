// Package cli holds replbench's cobra commands: flag parsing and printing
// only; the work is done by the packages they call.
package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/internal/node"
)

// NewRoot returns the replbench command tree.
func NewRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "replbench",
		Short: "Benchmark and compare replication stacks (PBFT, HotStuff, unreplicated)",
		Long: `replbench runs experiment specs against complete replica implementations
(PBFT, chained HotStuff and an unreplicated baseline), records HDR latency
histograms, throughput, replica memory and CPU, and writes results and figures.

Start with:  replbench run experiments/quickstart.yaml`,
		Version:       node.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newRunCmd(),
		newKeygenCmd(),
		node.NewReplicaCmd(),
		node.NewClientCmd(),
		newSimCmd(),
		newCryptoCmd(),
		newPlotCmd(),
		newMsgdumpCmd(),
	)
	return root
}

// Main runs the command line and returns the process exit status. Errors
// reach the user as one line on stderr.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := NewRoot()
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "replbench: %v\n", err)
		var ec exitCoder
		if errors.As(err, &ec) {
			return ec.ExitCode()
		}
		return 1
	}
	return 0
}

type exitCoder interface{ ExitCode() int }
