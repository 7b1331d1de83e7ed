package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

// scaffold is what `manifold init` writes: a gateway, one pipeline and
// its test, which `manifold validate` and `manifold test` pass at once.
var scaffold = []struct{ name, text string }{
	{"gateway.yaml", `# yaml-language-server: $schema=gateway.schema.json
# The gateway: listeners, upstreams and defaults (see manifold schema gateway).
server:
  listen: ":9080"
upstreams:
  # Secrets and addresses usually come from the environment: ${NAME}.
  # manifold test needs no address: it answers from the test files.
  weather:
    url: http://127.0.0.1:8081     # in production: url: ${WEATHER_URL}
    timeout: 2s
    retries: 1
defaults:
  access: public
`},
	{"forecast.yaml", `# yaml-language-server: $schema=pipeline.schema.json
# One composite endpoint: GET /v1/forecast?city=Berlin
name: forecast
summary: Today's forecast for a city
method: GET
path: /v1/forecast
params:
  city: {in: query, type: string, required: true, min_length: 2, description: City name, example: Berlin}
cache: 1m
steps:
  today:
    upstream: weather
    path: /forecast
    query: {city: "${ .params.city }"}
    select: .today
output: '{city: .params.city, summary: .today.summary, high_c: .today.high_c}'
response:
  description: The forecast
  schema:
    type: object
    properties:
      city: {type: string}
      summary: {type: string}
      high_c: {type: number}
`},
	{"forecast.test.yaml", `# Run with: manifold test .   (offline: the answers below stand in for the upstream)
tests:
  - name: forecast for Berlin
    request:
      pipeline: forecast
      params: {city: Berlin}
    answers:
      - step: today
        body: {today: {summary: Sunny, high_c: 24}}
    expect:
      status: 200
      body: {city: Berlin, summary: Sunny, high_c: 24}
      calls:
        - {upstream: weather, path: /forecast, query: {city: Berlin}}

  - name: forecast needs a city
    request:
      pipeline: forecast
    expect:
      status: 400
      jq: ['.errors[0].name == "city"']
      calls: []
`},
}

func initCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "init DIR",
		Short: "Create a pipeline directory: gateway.yaml, one pipeline and its test",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := emptyDir(dir); err != nil {
				return err
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			for _, f := range scaffold {
				if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o644); err != nil {
					return err
				}
			}
			if err := writeSchemas(dir); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s: gateway.yaml, forecast.yaml, forecast.test.yaml and the JSON Schemas for your editor\n"+
				"next: manifold validate %[1]s && manifold test %[1]s\n", dir)
			return nil
		},
	}
}

// emptyDir refuses a directory that exists and holds anything: init never
// overwrites a user's files.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return fmt.Errorf("%s is not empty: init creates a new directory and never overwrites files", dir)
	}
	return nil
}
