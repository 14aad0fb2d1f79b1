// Package node holds the commands that run on every host of an experiment:
// a replica and the load generator. They live apart from the rest of the
// command line so the replbench-node binary links no plotting or analysis
// code, which keeps a replica's resident memory down to what it uses.
package node

// Version is replbench's version, set at build time with
// -ldflags "-X github.com/replbench/replbench/internal/node.Version=...".
var Version = "0.1.0-dev"
