package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/manifoldgw/manifold/internal/schema"
)

// schemaFiles are the schemas by kind, with the file name `init` writes.
var schemaFiles = []struct {
	kind, file string
	make       func() schema.Schema
}{
	{"pipeline", "pipeline.schema.json", schema.Pipeline},
	{"gateway", "gateway.schema.json", schema.Gateway},
}

func schemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "schema pipeline|gateway",
		Short: "Print the JSON Schema (2020-12) of pipeline files or of gateway.yaml, for editors",
		Long: "Print the JSON Schema (2020-12) of pipeline files or of gateway.yaml, generated from the\n" +
			"types the loader reads. Save it and point your editor at it, e.g. as the first line of a file:\n" +
			"  # yaml-language-server: $schema=pipeline.schema.json",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"pipeline", "gateway"},
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, s := range schemaFiles {
				if s.kind == args[0] {
					_, err := cmd.OutOrStdout().Write(schema.JSON(s.make()))
					return err
				}
			}
			return fmt.Errorf("unknown schema %q: want pipeline or gateway", args[0])
		},
	}
}

// writeSchemas writes both schemas into dir, for the editor.
func writeSchemas(dir string) error {
	for _, s := range schemaFiles {
		if err := os.WriteFile(filepath.Join(dir, s.file), schema.JSON(s.make()), 0o644); err != nil {
			return err
		}
	}
	return nil
}
