package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/yamlconf"
	"github.com/manifoldgw/manifold/openapi"
)

// errReported is returned by commands that already printed their errors.
var errReported = errors.New("reported")

func validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate DIR",
		Short: "Check a pipeline directory and print every error as file:line:column: message",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := checkPlan(cmd, func() (*pipeline.Plan, error) {
				return pipeline.LoadDir(args[0], pipeline.LoadOptions{})
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: ok, %d pipeline(s), %d upstream(s)\n",
				args[0], len(plan.Pipelines), len(plan.Gateway.Upstreams))
			return nil
		},
	}
}

// checkPlan is `manifold validate` of the plan load returns: it
// prints every load error, warning and finding of the GPT Actions lint,
// and fails (errReported) on any error. `manifold push` checks a bundle
// with it, so that it refuses exactly what validate refuses.
func checkPlan(cmd *cobra.Command, load func() (*pipeline.Plan, error)) (*pipeline.Plan, error) {
	plan, err := load()
	if err != nil {
		if errs, ok := yamlconf.AsErrors(err); ok {
			for _, e := range errs {
				fmt.Fprintln(cmd.ErrOrStderr(), e)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d error(s)\n", len(errs))
			return nil, errReported
		}
		return nil, err
	}
	for _, w := range plan.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
	}
	// The GPT Actions lint of the generated OpenAPI document.
	sp, err := openapi.Build(plan)
	var lint *openapi.LintError
	switch {
	case errors.As(err, &lint):
		for _, f := range lint.Findings {
			fmt.Fprintln(cmd.ErrOrStderr(), f)
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "%d error(s)\n", len(lint.Findings))
		return nil, errReported
	case err != nil:
		return nil, err
	}
	for _, f := range sp.Findings {
		fmt.Fprintln(cmd.ErrOrStderr(), f)
	}
	return plan, nil
}
