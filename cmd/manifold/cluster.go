package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifoldgw/manifold/internal/audit"
	"github.com/manifoldgw/manifold/internal/control"
	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/redact"
)

// clusterConn is how the cluster commands reach a cluster's control plane.
type clusterConn struct {
	nats    audit.ClientOptions
	cluster string
	timeout time.Duration
	json    bool
}

func (c *clusterConn) flags(f *pflag.FlagSet) {
	f.StringVar(&c.nats.Servers, "nats", envOr("NATS_URL", "nats://"+gateway.DefaultAuditListen), "NATS server URLs, comma-separated ($NATS_URL)")
	f.StringVar(&c.cluster, "cluster", envOr("MANIFOLD_CLUSTER", "manifold"), "cluster name, cluster.name of gateway.yaml ($MANIFOLD_CLUSTER)")
	f.StringVar(&c.nats.Credentials, "creds", os.Getenv("NATS_CREDS"), "NATS credentials file ($NATS_CREDS)")
	f.StringVar(&c.nats.NKey, "nkey", os.Getenv("NATS_NKEY"), "NKEY seed file ($NATS_NKEY)")
	f.StringVar(&c.nats.Token, "token", os.Getenv("NATS_TOKEN"), "NATS token ($NATS_TOKEN)")
	f.StringVar(&c.nats.TLSCA, "tls-ca", "", "CA certificate file for TLS")
	f.StringVar(&c.nats.TLSCert, "tls-cert", "", "client certificate file for TLS")
	f.StringVar(&c.nats.TLSKey, "tls-key", "", "client key file for TLS")
	f.DurationVar(&c.timeout, "timeout", 3*time.Second, "how long to wait for every replica's answer")
	f.BoolVar(&c.json, "json", false, "print the answers as JSON")
}

// run connects, runs f against the cluster and closes the connection.
func (c *clusterConn) run(ctx context.Context, f func(*control.Client, context.Context) (control.Result, error)) (control.Result, error) {
	if err := control.ValidCluster(c.cluster); err != nil {
		return control.Result{}, err
	}
	c.nats.Name = "manifold cluster"
	nc, err := audit.Dial(c.nats)
	if err != nil {
		return control.Result{}, fmt.Errorf("cannot reach the cluster: %w", err)
	}
	defer nc.Close()
	// Asynchronous NATS errors (a permission refused) come back as the
	// command's error; the default handler would print them twice.
	nc.SetErrorHandler(func(*nats.Conn, *nats.Subscription, error) {})
	client, err := control.NewClient(nc, c.cluster, control.ClientOptions{Timeout: c.timeout})
	if err != nil {
		return control.Result{}, err
	}
	res, err := f(client, ctx)
	if err != nil {
		return res, err
	}
	if len(res.Acted)+len(res.Failed) == 0 {
		return res, fmt.Errorf("no replica of cluster %q answered within %s on %s: are the replicas running with cluster.name %q on this NATS?",
			c.cluster, c.timeout, redact.URLs(c.nats.Servers), c.cluster)
	}
	return res, nil
}

func clusterCmd() *cobra.Command {
	conn := &clusterConn{}
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "See and act on every replica of a cluster, through NATS",
		Long: `See and act on every replica of a Manifold cluster through the NATS services
API (each replica registers the service "manifold"; see docs/cluster.md).
No admin key is used: NATS permissions on manifold.control.<cluster>.> decide
who may act.`,
	}
	conn.flags(cmd.PersistentFlags())
	cmd.AddCommand(clusterStatusCmd(conn), clusterReloadCmd(conn), clusterPurgeCmd(conn), clusterBreakerCmd(conn))
	return cmd
}

func clusterStatusCmd(conn *clusterConn) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print one line per replica: id, address, plan, uptime, requests in flight, open breakers",
		Example: `  manifold cluster status --nats nats://nats-0:4222 --cluster prod
  manifold cluster status --json | jq '.replicas[].plan'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := conn.run(cmd.Context(), (*control.Client).Status)
			if err != nil {
				return err
			}
			if conn.json {
				return printStatusJSON(cmd.OutOrStdout(), conn.cluster, res)
			}
			return printStatus(cmd.OutOrStdout(), res)
		},
	}
}

// statusJSON is the output of `cluster status --json`.
type statusJSON struct {
	Cluster     string            `json:"cluster"`
	Replicas    []control.Status  `json:"replicas"`
	Failed      []control.Reply   `json:"failed"`
	NotAnswered []control.Replica `json:"not_answered"`
}

func printStatusJSON(w io.Writer, cluster string, res control.Result) error {
	out := statusJSON{Cluster: cluster, Replicas: []control.Status{}, Failed: res.Failed, NotAnswered: res.NotAnswered}
	for _, rep := range res.Acted {
		var st control.Status
		if err := json.Unmarshal(rep.Result, &st); err != nil {
			return fmt.Errorf("replica %s answered an unreadable status: %w", rep.Replica, err)
		}
		out.Replicas = append(out.Replicas, st)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func printStatus(w io.Writer, res control.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REPLICA\tADDRESS\tREVISION\tHASH\tUPTIME\tIN FLIGHT\tOPEN BREAKERS")
	for _, rep := range res.Acted {
		var st control.Status
		if err := json.Unmarshal(rep.Result, &st); err != nil {
			return fmt.Errorf("replica %s answered an unreadable status: %w", rep.Replica, err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", st.Replica, dash(st.Address), dash(st.Plan.Revision), dash(short(st.Plan.Hash)),
			(time.Duration(st.UptimeS) * time.Second).String(), st.InFlight, breakers(st.OpenBreakers))
	}
	for _, rep := range res.Failed {
		fmt.Fprintf(tw, "%s\t%s\tfailed: %s\n", rep.Replica, dash(rep.Address), rep.Error)
	}
	for _, r := range res.NotAnswered {
		fmt.Fprintf(tw, "%s\t%s\tdid not answer in time\n", r.ID, dash(r.Address))
	}
	return tw.Flush()
}

func breakers(bs []control.Breaker) string {
	if len(bs) == 0 {
		return "-"
	}
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.Upstream + " (" + b.State + ")"
	}
	return strings.Join(out, ", ")
}

// short is a hash's first 12 characters, as git shows commits.
func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
