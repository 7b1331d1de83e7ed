package main

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/gateway"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/openapi"
)

func importCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Start pipelines from a backend's API description",
	}
	cmd.AddCommand(importOpenAPICmd())
	return cmd
}

func importOpenAPICmd() *cobra.Command {
	var (
		opts  openapi.ImportOptions
		out   string
		force bool
	)
	cmd := &cobra.Command{
		Use:   "openapi SPEC --upstream NAME [--out DIR]",
		Short: "Write an upstream and one pass-through pipeline per operation of an OpenAPI 3.0/3.1 or Swagger 2.0 document (file or URL)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runImport(cmd, args[0], opts, out, force)
		},
	}
	cmd.Flags().StringVar(&opts.Upstream, "upstream", "", "name of the upstream in gateway.yaml (required)")
	cmd.Flags().StringVar(&out, "out", ".", "pipeline directory to write into (its gateway.yaml is created or extended)")
	cmd.Flags().StringVar(&opts.URL, "url", "", "the backend's base URL (default: the document's first server)")
	cmd.Flags().StringVar(&opts.PathPrefix, "path-prefix", "", "prefix for the gateway paths of the imported operations")
	cmd.Flags().BoolVar(&opts.UpstreamOnly, "upstream-only", false, "write the upstream and its OpenAPI document only, no pass-through pipelines")
	cmd.Flags().StringVar(&opts.Name, "name", "", "plugin name of a new gateway.yaml (default: the document's title)")
	cmd.Flags().BoolVar(&force, "force", false, "replace existing pipeline files and the upstream entry")
	_ = cmd.MarkFlagRequired("upstream")
	return cmd
}

// runImport imports the document at location into the directory out,
// then loads the directory as serve would and prints what to fix, each
// warning once.
func runImport(cmd *cobra.Command, location string, opts openapi.ImportOptions, out string, force bool) error {
	stderr := cmd.ErrOrStderr()
	if _, err := os.Stat(filepath.Join(out, gateway.File)); err == nil && opts.Name != "" {
		return fmt.Errorf("--name names the plugin of a new gateway.yaml; %s exists: set its plugin.name_for_human", filepath.Join(out, gateway.File))
	}
	src, err := openapi.LoadSpec(cmd.Context(), location, nil)
	if err != nil {
		return err
	}
	for _, p := range slices.Compact(slices.Sorted(slices.Values(src.Problems))) {
		fmt.Fprintf(stderr, "warning: %s: %s\n", location, p)
	}
	im, err := openapi.Import(src, opts)
	if im != nil {
		for _, s := range im.Skipped {
			fmt.Fprintln(stderr, "skipped:", s)
		}
	}
	if err != nil {
		return err
	}
	if _, err := im.Write(out, sourceName(location), force); err != nil {
		return err
	}
	// The key is the operator's to set before serving: the check here
	// runs with a stand-in, so that a missing key is not a load error.
	env := func(name string) (string, bool) {
		if v, ok := os.LookupEnv(name); ok || name != im.KeyEnv() {
			return v, ok
		}
		return "unset", true
	}
	plan, err := pipeline.LoadDir(out, pipeline.LoadOptions{LookupEnv: env})
	if err != nil {
		fmt.Fprintf(stderr, "the pipelines were written to %s, but the directory does not load:\n", out)
		return printLoadErrors(cmd, err)
	}
	sp, err := openapi.Build(plan)
	if err != nil {
		return err
	}
	for _, line := range openapi.Grouped(sp.Findings) {
		fmt.Fprintln(stderr, line)
	}
	printImported(cmd, location, src.Version, im, out)
	return nil
}

// printImported says what was written and what to do next.
func printImported(cmd *cobra.Command, location, version string, im *openapi.Imported, out string) {
	w := cmd.OutOrStdout()
	if len(im.Pipelines) == 0 {
		fmt.Fprintf(w, "%s: imported upstream %s (%s) with the OpenAPI %s document of %s (%d operation(s)), no pipelines\n",
			out, im.Upstream, im.URL, version, location, im.Operations)
	} else {
		fmt.Fprintf(w, "%s: imported %d operation(s) of %s (OpenAPI %s) as upstream %s (%s)\n",
			out, len(im.Pipelines), location, version, im.Upstream, im.URL)
	}
	if env := im.KeyEnv(); env != "" {
		fmt.Fprintf(w, "the upstream's API key is read from $%s: set it before serving\n", env)
	}
	fmt.Fprintf(w, "serve them: manifold serve --dir %s\n", out)
}

// sourceName is how the files written name the document: a URL as given,
// a file by its base name.
func sourceName(location string) string {
	if u, err := url.Parse(location); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return location
	}
	return filepath.Base(location)
}
