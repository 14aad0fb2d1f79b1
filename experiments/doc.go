// Package experiments reads experiment specs: it parses YAML, validates every
// key with file:line errors, and expands sweeps into fully resolved points.
//
// A spec is one YAML mapping (docs/spec.md lists every key and its default).
// Parse and Load validate the whole document and every point of its sweep, so
// a spec that loads can run. Points expands the sweep deterministically: axes
// vary in the order they are written, the first one slowest.
package experiments
