package main

import (
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/spf13/cobra"

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
			stderr := cmd.ErrOrStderr()
			src, err := openapi.LoadSpec(cmd.Context(), args[0], nil)
			if err != nil {
				return err
			}
			for _, p := range src.Problems {
				fmt.Fprintf(stderr, "warning: %s: %s\n", args[0], p)
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
			if _, err := im.Write(out, sourceName(args[0]), force); err != nil {
				return err
			}
			plan, err := pipeline.LoadDir(out, pipeline.LoadOptions{})
			if err != nil {
				fmt.Fprintf(stderr, "the pipelines were written to %s, but the directory does not load:\n", out)
				return printLoadErrors(cmd, err)
			}
			sp, err := openapi.Build(plan)
			if err != nil {
				return err
			}
			for _, f := range sp.Findings {
				fmt.Fprintln(stderr, f)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: imported %d operation(s) of %s (OpenAPI %s) as upstream %s (%s)\nserve them: manifold serve --dir %s\n",
				out, len(im.Pipelines), args[0], src.Version, im.Upstream, im.URL, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Upstream, "upstream", "", "name of the upstream in gateway.yaml (required)")
	cmd.Flags().StringVar(&out, "out", ".", "pipeline directory to write into (its gateway.yaml is created or extended)")
	cmd.Flags().StringVar(&opts.URL, "url", "", "the backend's base URL (default: the document's first server)")
	cmd.Flags().StringVar(&opts.PathPrefix, "path-prefix", "", "prefix for the gateway paths of the imported operations")
	cmd.Flags().BoolVar(&force, "force", false, "replace existing pipeline files and the upstream entry")
	_ = cmd.MarkFlagRequired("upstream")
	return cmd
}

// sourceName is how the files written name the document: a URL as given,
// a file by its base name.
func sourceName(location string) string {
	if u, err := url.Parse(location); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return location
	}
	return filepath.Base(location)
}
