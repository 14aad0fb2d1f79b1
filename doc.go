// Package replbench is the root of the replbench module; the command is
// cmd/replbench and the packages are described in docs/architecture.md.
// This package holds only repository-wide tests (import rules).
package replbench
