package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"regexp"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifoldgw/manifold/internal/bundle"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/natsconn"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/yamlconf"
)

// natsFlags say how a command reaches the cluster's NATS: --nats and
// --cluster, credential and TLS files; a token only from $NATS_TOKEN, so
// that it never shows in a process list.
type natsFlags struct {
	url, cluster                        string
	creds, nkey, tlsCA, tlsCert, tlsKey string
}

func (n *natsFlags) add(f *pflag.FlagSet) {
	f.StringVar(&n.url, "nats", os.Getenv("NATS_URL"), "NATS server URLs of the cluster, comma-separated (default $NATS_URL)")
	f.StringVar(&n.cluster, "cluster", os.Getenv("MANIFOLD_CLUSTER"), "cluster name (default $MANIFOLD_CLUSTER, else cluster.name of gateway.yaml, else manifold)")
	f.StringVar(&n.creds, "creds", os.Getenv("NATS_CREDS"), "NATS credentials file (default $NATS_CREDS)")
	f.StringVar(&n.nkey, "nkey", os.Getenv("NATS_NKEY"), "NKEY seed file (default $NATS_NKEY)")
	f.StringVar(&n.tlsCA, "tls-ca", os.Getenv("NATS_TLS_CA"), "CA certificate file for TLS to NATS")
	f.StringVar(&n.tlsCert, "tls-cert", os.Getenv("NATS_TLS_CERT"), "client certificate file for TLS to NATS")
	f.StringVar(&n.tlsKey, "tls-key", os.Getenv("NATS_TLS_KEY"), "client key file for TLS to NATS")
}

func (n *natsFlags) options(name string) natsconn.Options {
	return natsconn.Options{URL: n.url, Name: name, Credentials: n.creds, NKey: n.nkey, Token: os.Getenv("NATS_TOKEN"),
		TLSCA: n.tlsCA, TLSCert: n.tlsCert, TLSKey: n.tlsKey}
}

// name is the cluster's name: --cluster, else gw's cluster.name, else
// the default; it must name JetStream buckets.
func (n *natsFlags) name(gw *gateway.Config) (string, error) {
	name := n.cluster
	if name == "" && gw != nil && gw.Cluster != nil {
		name = gw.Cluster.Name
	}
	if name == "" {
		name = gateway.DefaultClusterName
	}
	if !gateway.ClusterName.MatchString(name) {
		return "", fmt.Errorf("--cluster %q: want 1 to 64 letters, digits, _ and -", name)
	}
	return name, nil
}

// dial connects a command to the cluster's NATS.
func (n *natsFlags) dial(cmd string) (*nats.Conn, jetstream.JetStream, error) {
	if n.url == "" {
		return nil, nil, fmt.Errorf("--nats: which NATS? (nats:// URLs, or set NATS_URL)")
	}
	nc, err := natsconn.Dial(n.options("manifold " + cmd))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return nc, js, nil
}

func pushCmd() *cobra.Command {
	var nf natsFlags
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "push DIR --nats URL [--cluster NAME]",
		Short: "Validate a pipeline directory and store it as the cluster's next config revision",
		Long: `Validate a pipeline directory exactly as 'manifold validate' does and, if it
is sound, store its files (gateway.yaml, the pipelines, the plugin assets;
${ENV} unresolved, so no secret enters NATS) as the next revision of the
cluster's config bucket. Replicas started with 'manifold serve --nats' load
each revision as it arrives; 'manifold rollback --to REV' brings an earlier
one back. The environment of this command resolves ${ENV} for the check.`,
		Example: `  manifold push ./pipelines --nats nats://nats-1:4222 --cluster prod
  manifold push ./pipelines --wait 10s     # and wait until every replica serves it`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			// The files the loader reads make the bundle; the check below
			// then loads the bundle itself, as a replica will.
			b, err := bundle.Collect(dir, func(fsys fs.FS) error {
				_, err := pipeline.Load(fsys, dir, pipeline.LoadOptions{})
				_, isLoad := yamlconf.AsErrors(err)
				if isLoad {
					return nil // reported by the check
				}
				return err
			})
			if err != nil {
				return err
			}
			plan, err := checkPlan(cmd, func() (*pipeline.Plan, error) {
				return pipeline.Load(b.FS(), dir, pipeline.LoadOptions{})
			})
			if err != nil {
				return err
			}
			cluster, err := nf.name(plan.Gateway)
			if err != nil {
				return err
			}
			nc, js, err := nf.dial("push")
			if err != nil {
				return err
			}
			defer nc.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), natsconn.ConnectTimeout+wait)
			defer cancel()
			store, err := bundle.Create(ctx, js, cluster)
			if err != nil {
				return err
			}
			b.Meta = bundle.Meta{PushedAt: time.Now().UTC(), PushedBy: whoami(), Source: dir}
			rev, err := store.Push(ctx, nc, b)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: pushed revision %d to cluster %s (%d file(s), %d pipeline(s), plan %s)\n",
				dir, rev, cluster, len(b.Files), len(plan.Pipelines), bundle.PlanHash(plan))
			if wait > 0 {
				return waitReplicas(ctx, cmd, js, cluster, rev)
			}
			return nil
		},
	}
	nf.add(cmd.Flags())
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait this long for every live replica to serve the revision, and print each one's answer")
	return cmd
}

// whoami is user@host, for the bundle's meta.
func whoami() string {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return name + "@" + host
}

var replicaID = regexp.MustCompile(`^[A-Za-z0-9_=-][A-Za-z0-9_=.-]{0,127}$`)

// waitReplicas waits until every live replica serves rev or reports that
// it failed to build it, then prints one line per replica; it fails when
// any replica does not serve rev.
func waitReplicas(ctx context.Context, cmd *cobra.Command, js jetstream.JetStream, cluster string, rev uint64) error {
	statuses, err := bundle.OpenStatuses(ctx, js, cluster)
	if err != nil {
		return err
	}
	var list []bundle.ReplicaStatus
	for {
		list, _ = statuses.List(ctx)
		if settled(list, rev) || ctx.Err() != nil {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLICA\tREVISION\tPLAN\tSTATE")
	bad := 0
	for _, st := range list {
		state := "ok"
		switch {
		case st.Failed >= rev:
			state, bad = fmt.Sprintf("failed revision %d: %v", st.Failed, st.Errors), bad+1
		case st.Revision < rev:
			state, bad = "not yet", bad+1
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", st.Replica, st.Revision, st.Hash, state)
	}
	_ = tw.Flush()
	if bad > 0 || len(list) == 0 {
		return fmt.Errorf("%d of %d replica(s) do not serve revision %d", bad, len(list), rev)
	}
	return nil
}

// settled reports whether every replica serves rev or failed it.
func settled(list []bundle.ReplicaStatus, rev uint64) bool {
	for _, st := range list {
		if st.Revision < rev && st.Failed < rev {
			return false
		}
	}
	return len(list) > 0
}
