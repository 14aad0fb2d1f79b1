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
	"github.com/replbench/replbench/internal/orchestrate"
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
// reach the user as one line on stderr. SIGINT (Ctrl-C) and SIGTERM end
// the command's context; a command they stop exits with 128 + the signal's
// number (130 for SIGINT, 143 for SIGTERM), as a shell reports it, and says
// that it was interrupted. A command that finishes normally on the signal
// (a replica told to stop) exits 0.
func Main(args []string) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	caught := make(chan syscall.Signal, 1)
	go func() {
		select {
		case s := <-sigs:
			caught <- s.(syscall.Signal)
			cancel()
		case <-ctx.Done():
		}
	}()
	root := NewRoot()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	select {
	case sig := <-caught:
		msg := err.Error()
		if !errors.Is(err, orchestrate.ErrInterrupted) {
			msg = "interrupted: " + msg
		}
		fmt.Fprintf(os.Stderr, "replbench: %s\n", msg)
		return 128 + int(sig)
	default:
	}
	fmt.Fprintf(os.Stderr, "replbench: %v\n", err)
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}

type exitCoder interface{ ExitCode() int }
