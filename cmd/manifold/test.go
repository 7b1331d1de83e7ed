package main

import (
	"errors"
	"fmt"
	"os"
	"regexp"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/pipetest"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

func testCmd() *cobra.Command {
	var (
		run, junit      string
		verbose, record bool
	)
	cmd := &cobra.Command{
		Use:   "test [DIR] [--run REGEX] [--junit FILE] [-v] [--record]",
		Short: "Run the *.test.yaml tests of a pipeline directory offline, with canned upstream answers",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			opts := pipetest.Options{Dir: dir, Verbose: verbose, Record: record, Out: cmd.OutOrStdout()}
			if run != "" {
				re, err := regexp.Compile(run)
				if err != nil {
					return fmt.Errorf("--run: %w", err)
				}
				opts.Filter = re
			}
			if record {
				opts.LookupEnv = os.LookupEnv // the real upstreams
			}
			rep, err := pipetest.Run(opts)
			if errs, ok := yamlconf.AsErrors(err); ok {
				for _, e := range errs {
					fmt.Fprintln(cmd.ErrOrStderr(), e)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "%d error(s)\n", len(errs))
				return errReported
			}
			if err != nil {
				return err
			}
			if junit != "" {
				if err := writeJUnit(junit, rep); err != nil {
					return err
				}
			}
			if rep.Failed() > 0 {
				return errReported
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&run, "run", "", "run only the tests whose name matches this regular expression")
	cmd.Flags().StringVar(&junit, "junit", "", "also write the results as JUnit XML to this file")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the upstream calls each test made")
	cmd.Flags().BoolVar(&record, "record", false, "call the real upstreams (URLs from the environment) and write their answers into the test files")
	return cmd
}

func writeJUnit(path string, rep *pipetest.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	werr := rep.JUnit(f)
	return errors.Join(werr, f.Close())
}
