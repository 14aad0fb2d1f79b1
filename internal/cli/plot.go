package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/replbench/replbench/analysis"
)

func newPlotCmd() *cobra.Command {
	var (
		out, formats, errorBars string
		labels                  []string
	)
	cmd := &cobra.Command{
		Use:   "plot RESULTS_DIR...",
		Short: "Draw figures and tables from recorded results (never reruns anything)",
		Long: `Read one or more results directories (results/<spec>/<run id>/) and write
figures and tables: throughput and latency over the swept keys, latency
against throughput, latency distributions on a percentile axis, peak RSS and
CPU per replica, and each point's timeline; summary.md, aggregate.csv and
latency-dist.csv hold the numbers behind them. docs/figures.md describes
every figure and the keys a spec's figures section accepts.

Several directories are overlaid in the figures that compare points (each
run with its own dash), for example a run before and after a change:

  replbench plot results/pbft-schemes/20260101-120000 results/pbft-schemes/20260102-090000 \
      --label before,after --out compare/

A missing or corrupt file is reported with what is wrong, and everything
else is still drawn; the exit status is then 1.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			eb, err := analysis.ParseErrorBars(errorBars)
			if err != nil {
				return err
			}
			opt := analysis.Options{Out: out, ErrorBars: eb, Labels: labels}
			for _, f := range strings.Split(formats, ",") {
				if f = strings.TrimSpace(f); f != "" {
					opt.Formats = append(opt.Formats, f)
				}
			}
			if opt.Out == "" && len(args) > 1 {
				opt.Out = "figures"
			}
			rep, err := analysis.Draw(args, opt)
			stderr := cmd.ErrOrStderr()
			if rep != nil {
				for _, p := range rep.Problems {
					if err == nil || !strings.Contains(err.Error(), p.Error()) { // the error is printed once, below
						fmt.Fprintf(stderr, "replbench plot: %v\n", p)
					}
				}
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d files to %s\n", len(rep.Files), rep.Out)
			if len(rep.Problems) > 0 {
				return fmt.Errorf("%d problems with the results (above); the figures leave out what they would have shown", len(rep.Problems))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&out, "out", "", "directory for figures and tables (default: RESULTS_DIR/figures; with several directories: ./figures)")
	f.StringVar(&formats, "format", strings.Join(analysis.Formats, ","), "comma-separated file formats: png, svg, pdf")
	f.StringVar(&errorBars, "errors", "sd", "error bars over repeats: sd (±1 standard deviation) or ci95 (95% confidence interval of the mean)")
	f.StringSliceVar(&labels, "label", nil, "names of the results directories in overlaid figures, comma-separated, in order")
	return cmd
}
