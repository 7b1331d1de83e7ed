package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/yamlconf"
	"github.com/manifoldgw/manifold/openapi"
)

func openapiCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "openapi DIR [--format yaml|json]",
		Short: "Print the OpenAPI 3.1 document of a pipeline directory, byte for byte what /openapi.yaml (or .json) serves",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != openapi.FormatYAML && format != openapi.FormatJSON {
				return fmt.Errorf("--format %q: want yaml or json", format)
			}
			plan, err := pipeline.LoadDir(args[0], pipeline.LoadOptions{})
			if err != nil {
				return printLoadErrors(cmd, err)
			}
			sp, err := openapi.Build(plan)
			if err != nil {
				return err
			}
			out := sp.YAML
			if format == openapi.FormatJSON {
				out = sp.JSON
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&format, "format", openapi.FormatYAML, "output format: yaml or json")
	return cmd
}

// printLoadErrors prints every located load error, one a line, and
// returns errReported; other errors are returned as they are.
func printLoadErrors(cmd *cobra.Command, err error) error {
	errs, ok := yamlconf.AsErrors(err)
	if !ok {
		return err
	}
	for _, e := range errs {
		fmt.Fprintln(cmd.ErrOrStderr(), e)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%d error(s)\n", len(errs))
	return errReported
}
