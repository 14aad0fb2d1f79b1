// Command replbench benchmarks and compares replication stacks.
package main

import (
	"os"

	"github.com/replbench/replbench/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
