// Command replbench-node runs what an experiment needs on each host: a
// replica or the load generator. It is replbench without the orchestration,
// analysis and plotting code, so a replica's resident memory is what the
// replica uses; 'replbench run' starts it on every host.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/internal/node"
)

func main() {
	root := &cobra.Command{
		Use:           "replbench-node",
		Short:         "Run a replbench replica or load generator (started by 'replbench run')",
		Version:       node.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(node.NewReplicaCmd(), node.NewClientCmd())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "replbench-node: %v\n", err)
		stop()
		os.Exit(1)
	}
}
