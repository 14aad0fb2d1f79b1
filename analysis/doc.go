// Package analysis turns recorded results into figures and tables: it
// loads results directories, aggregates repeats and draws with gonum/plot.
//
// It reads files only (summary.csv, expanded.yaml, spec.yaml, meta.json and
// each point's latency.hlog, timeline.csv and summary.json), so figures can
// be redrawn from results anywhere, long after the run. A missing or corrupt
// file is reported by name and what is wrong with it; everything else is
// still drawn.
package analysis
