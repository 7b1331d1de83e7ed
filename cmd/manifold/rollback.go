package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/bundle"
	"github.com/manifoldgw/manifold/internal/natsconn"
)

func rollbackCmd() *cobra.Command {
	var nf natsFlags
	var to uint64
	cmd := &cobra.Command{
		Use:   "rollback --to REV --nats URL [--cluster NAME]",
		Short: "Bring back an earlier config revision of the cluster (without --to: list them)",
		Long: `Bring back an earlier config revision: its files are stored again as the
newest revision, which every replica loads as it loads a push. Without --to,
print the revisions the cluster keeps (its last 64 pushes).`,
		Example: `  manifold rollback --nats nats://nats-1:4222            # list the revisions
  manifold rollback --to 12 --nats nats://nats-1:4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cluster, err := nf.name(nil)
			if err != nil {
				return err
			}
			nc, js, err := nf.dial("rollback")
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), natsconn.ConnectTimeout)
			defer cancel()
			store, err := bundle.Open(ctx, js, cluster)
			if err != nil {
				return fmt.Errorf("cluster %s: %w", cluster, err)
			}
			if to == 0 {
				return listRevisions(ctx, cmd, store)
			}
			rev, err := store.Rollback(ctx, nc, to, bundle.Meta{PushedAt: time.Now().UTC(), PushedBy: whoami()})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster %s: revision %d is revision %d again\n", cluster, rev, to)
			return nil
		},
	}
	nf.add(cmd.Flags())
	cmd.Flags().Uint64Var(&to, "to", 0, "the revision to bring back (see the list without --to)")
	return cmd
}

// listRevisions prints the revisions kept, newest first.
func listRevisions(ctx context.Context, cmd *cobra.Command, store *bundle.Store) error {
	revs, err := store.History(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REVISION\tPUSHED\tBY\tSOURCE\tFILES\tNOTE")
	for i := len(revs) - 1; i >= 0; i-- {
		r := revs[i]
		note := ""
		if r.Bundle.Meta.RollbackFrom != 0 {
			note = fmt.Sprintf("rollback to %d", r.Bundle.Meta.RollbackFrom)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", r.Revision, r.Bundle.Meta.PushedAt.Format(time.RFC3339),
			r.Bundle.Meta.PushedBy, r.Bundle.Meta.Source, len(r.Bundle.Files), note)
	}
	return tw.Flush()
}
