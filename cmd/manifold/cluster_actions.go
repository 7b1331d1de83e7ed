package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/control"
)

func clusterReloadCmd(conn *clusterConn) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Reload the plan on every replica",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return conn.act(cmd, (*control.Client).Reload)
		},
	}
}

func clusterPurgeCmd(conn *clusterConn) *cobra.Command {
	var scope control.PurgeScope
	cmd := &cobra.Command{
		Use:   "purge (--all | --pipeline NAME | --upstream NAME)",
		Short: "Purge the response cache on every replica",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if btoi(scope.All)+btoi(scope.Pipeline != "")+btoi(scope.Upstream != "") != 1 {
				return fmt.Errorf("say what to purge: --all, --pipeline NAME or --upstream NAME")
			}
			return conn.act(cmd, func(c *control.Client, ctx context.Context) (control.Result, error) { return c.Purge(ctx, scope) })
		},
	}
	cmd.Flags().BoolVar(&scope.All, "all", false, "purge everything")
	cmd.Flags().StringVar(&scope.Pipeline, "pipeline", "", "purge a pipeline's whole answers")
	cmd.Flags().StringVar(&scope.Upstream, "upstream", "", "purge an upstream's answers and the whole answers built from them")
	return cmd
}

func clusterBreakerCmd(conn *clusterConn) *cobra.Command {
	return &cobra.Command{
		Use:     "breaker UPSTREAM open|closed|auto",
		Short:   "Force an upstream's breaker open or closed on every replica, or hand it back (auto)",
		Example: "  manifold cluster breaker inventory open --cluster prod",
		Args:    cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch args[1] {
			case "open", "closed", "auto":
			default:
				return fmt.Errorf("the breaker state is open, closed or auto, not %q", args[1])
			}
			return conn.act(cmd, func(c *control.Client, ctx context.Context) (control.Result, error) {
				return c.ForceBreaker(ctx, args[0], args[1])
			})
		},
	}
}

// act fans an action out, prints each replica's outcome and fails unless
// every replica known acted.
func (c *clusterConn) act(cmd *cobra.Command, f func(*control.Client, context.Context) (control.Result, error)) error {
	res, err := c.run(cmd.Context(), f)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if c.json {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else if err := printOutcomes(out, res); err != nil {
		return err
	}
	if n := len(res.Failed) + len(res.NotAnswered); n > 0 {
		return fmt.Errorf("%d of %d replicas did not act", n, n+len(res.Acted))
	}
	return nil
}

func printOutcomes(w io.Writer, res control.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, rep := range res.Acted {
		fmt.Fprintf(tw, "%s\t%s\tdone\n", rep.Replica, dash(rep.Address))
	}
	for _, rep := range res.Failed {
		fmt.Fprintf(tw, "%s\t%s\tfailed (%d): %s\n", rep.Replica, dash(rep.Address), rep.Code, rep.Error)
	}
	for _, r := range res.NotAnswered {
		fmt.Fprintf(tw, "%s\t%s\tdid not answer in time\n", r.ID, dash(r.Address))
	}
	return tw.Flush()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
