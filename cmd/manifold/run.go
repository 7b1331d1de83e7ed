package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/connectors"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
)

func runCmd() *cobra.Command {
	var (
		params []string
		body   string
		trace  bool
	)
	cmd := &cobra.Command{
		Use:   "run DIR PIPELINE [--param name=value ...]",
		Short: "Run one pipeline once and print its answer (--trace: and what each step did)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			plan, err := pipeline.LoadDir(args[0], pipeline.LoadOptions{})
			if err != nil {
				return err
			}
			p := plan.Pipeline(args[1])
			if p == nil {
				return fmt.Errorf("no pipeline %q in %s", args[1], args[0])
			}
			in, err := runInput(cmd.Context(), plan, p, params, body)
			if err != nil {
				return err
			}
			rt, err := server.Build(plan, nil)
			if err != nil {
				return err
			}
			defer rt.Close()
			res, runErr := rt.Engine.Run(cmd.Context(), p, in)
			if trace && res != nil {
				printTrace(cmd.ErrOrStderr(), res, plan.Gateway)
			}
			if runErr != nil {
				out, _ := json.MarshalIndent(problem.From(runErr), "", "  ")
				fmt.Fprintln(cmd.OutOrStdout(), string(out))
				return runErr
			}
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, res.JSON, "", "  ")
			fmt.Fprintln(cmd.OutOrStdout(), pretty.String())
			if len(res.Missing) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "incomplete: %s\n", strings.Join(res.Missing, ","))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "parameter as name=value (repeatable)")
	cmd.Flags().StringVar(&body, "body", "", "JSON request body, for non-GET pipelines")
	cmd.Flags().BoolVar(&trace, "trace", false, "print what each step did")
	return cmd
}

// runInput checks the flags against the pipeline's published contract,
// as the gateway checks a request on every surface (openapi.Spec.CheckArgs),
// and returns the run's input.
func runInput(ctx context.Context, plan *pipeline.Plan, p *pipeline.Compiled, params []string, body string) (pipeline.Input, error) {
	values, err := parseParamFlags(params)
	if err != nil {
		return pipeline.Input{}, err
	}
	args := openapi.Args{Params: values}
	if body != "" {
		if p.Method == http.MethodGet {
			return pipeline.Input{}, fmt.Errorf("--body: pipeline %s is GET and takes no body", p.Name)
		}
		args.Body = json.RawMessage(body)
	}
	spec, err := openapi.Build(plan)
	if err != nil {
		return pipeline.Input{}, err
	}
	in := pipeline.Input{}
	if in.Params, in.Body, err = spec.CheckArgs(ctx, p, args); err != nil {
		return pipeline.Input{}, inputError(err)
	}
	return in, nil
}

// inputError lists what is wrong with the input, one entry per problem,
// rather than the bare title of the problem the gateway would answer.
func inputError(err error) error {
	pr := problem.From(err)
	if list, ok := pr.Errors.([]pipeline.ParamProblem); ok && len(list) > 0 {
		return &pipeline.ParamsError{Problems: list}
	}
	if pr.Detail != "" {
		return fmt.Errorf("invalid input: %s: %w", pr.Detail, err)
	}
	return err
}

// parseParamFlags reads --param name=value flags; a name given twice is
// kept twice, and refused as a repeated query parameter is.
func parseParamFlags(flags []string) (map[string]any, error) {
	out := map[string]any{}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--param %q: want name=value", f)
		}
		prev, _ := out[name].([]string)
		out[name] = append(prev, value)
	}
	return out, nil
}

// printTrace prints one line per step: what it called (the method and
// the full URL of its last call, secrets REDACTED), how it went, and
// whether it overlapped another step.
func printTrace(w io.Writer, res *pipeline.Result, gw *gateway.Config) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tUPSTREAM\tSTATUS\tCALLS\tSTART\tDURATION\tCACHE\tPARALLEL\tCALL\tNOTE")
	for _, s := range res.Steps {
		status, note := "-", ""
		var cancelled *pipeline.CancelledError
		if s.Status != 0 {
			status = fmt.Sprint(s.Status)
		}
		switch {
		case s.Skipped:
			note = "skipped (when is false)"
		case errors.As(s.Err, &cancelled) && s.Calls == 0:
			note = "not run: step " + cancelled.Step + " failed"
		case errors.As(s.Err, &cancelled):
			note = "cancelled: step " + cancelled.Step + " failed"
		case s.Err != nil && s.Optional:
			note = "optional, failed: " + s.Err.Error()
		case s.Err != nil:
			note = "failed: " + s.Err.Error()
		case strings.Contains(s.URL, "://"): // the connector made it safe to show
			note = "redirected to " + s.URL
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Upstream, status, s.Calls,
			ms(s.Start), ms(s.Duration), dash(s.Cache), yesNo(s.Parallel), traceCall(s, gw), note)
	}
	fmt.Fprintf(tw, "total\t\t\t\t\t%s\n", ms(res.Duration))
	_ = tw.Flush()
}

// traceCall is a step's last call: its method and full URL, with the
// values gateway.yaml took from the environment REDACTED.
func traceCall(s pipeline.StepTrace, gw *gateway.Config) string {
	if s.Calls == 0 {
		return "-"
	}
	base, secrets := "", []string(nil)
	if gw != nil {
		secrets = gw.Secrets()
		if u := gw.Upstreams[s.Upstream]; u != nil {
			base = u.URL
		}
	}
	return s.Method + " " + connectors.TraceURL(base, s.URL, secrets)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
