package pipetest

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// ErrNoTests is returned when a directory has no test file, or the filter
// matches no test.
var ErrNoTests = errors.New("no tests")

// Report is the outcome of a run: each test's result, and the test files
// that could not be read (each counts as one failure).
type Report struct {
	Results    []*Result
	FileErrors map[string]error
	Files      []string
}

// Passed and Failed count the tests (a broken file is one failure).
func (r *Report) Passed() int { return r.count(true) }

// Failed counts failed tests and broken files.
func (r *Report) Failed() int { return r.count(false) + len(r.FileErrors) }

func (r *Report) count(passed bool) int {
	n := 0
	for _, res := range r.Results {
		if res.Passed() == passed {
			n++
		}
	}
	return n
}

// Run loads opts.Dir and runs the tests of its *.test.yaml files, printing
// a PASS or FAIL line per test (with the failures, each at its file:line)
// and a summary to opts.Out. A directory that does not load is an error
// (yamlconf.Errors); so is one without tests.
func Run(opts Options) (*Report, error) {
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	env := opts.LookupEnv
	if env == nil {
		env = Env
	}
	files, err := FindFiles(opts.Dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w: %s has no *.test.yaml file", ErrNoTests, opts.Dir)
	}
	plan, err := pipeline.LoadDir(opts.Dir, pipeline.LoadOptions{LookupEnv: env})
	if err != nil {
		return nil, err
	}
	rep := &Report{FileErrors: map[string]error{}, Files: files}
	for _, path := range files {
		f, err := LoadFile(path)
		if err != nil {
			rep.FileErrors[path] = err
			fmt.Fprintf(opts.Out, "FAIL %s\n%s\n", path, indent(err.Error()))
			continue
		}
		for _, t := range f.Tests {
			if opts.Filter != nil && !opts.Filter.MatchString(t.Name) {
				continue
			}
			res := runTest(plan, t, opts.Record)
			rep.Results = append(rep.Results, res)
			if opts.Record && len(res.Calls) > 0 {
				if err := recordAnswers(f, t, res.Calls, plan.Gateway.Secrets()); err != nil {
					res.Failures = append(res.Failures, Failure{t.Line, "recording: " + err.Error()})
				}
			}
			printResult(opts.Out, res, opts.Verbose)
		}
		if opts.Record {
			if err := f.save(); err != nil {
				rep.FileErrors[path] = err
			}
		}
	}
	if len(rep.Results) == 0 && len(rep.FileErrors) == 0 {
		return rep, fmt.Errorf("%w: no test matches", ErrNoTests)
	}
	fmt.Fprintf(opts.Out, "%d passed, %d failed\n", rep.Passed(), rep.Failed())
	return rep, nil
}

// printResult prints a test's PASS or FAIL line and, for a failure, each
// failed expectation at its file:line.
func printResult(w io.Writer, res *Result, verbose bool) {
	t := res.Test
	if res.Passed() {
		fmt.Fprintf(w, "PASS %s\n", t.Name)
	} else {
		fmt.Fprintf(w, "FAIL %s (%s:%d)\n", t.Name, t.File, res.Failures[0].Line)
		for _, f := range res.Failures {
			fmt.Fprintf(w, "%s\n", indent(fmt.Sprintf("%s:%d: %s", t.File, f.Line, f.Msg)))
		}
	}
	if verbose {
		fmt.Fprintf(w, "  calls (%s):\n%s\n", res.Duration.Round(time.Microsecond), indent(indent(list(res.Calls))))
	}
}

// JUnit writes the report as JUnit XML: a suite per test file, a case per
// test, a broken file as a failed case named after it.
func (r *Report) JUnit(w io.Writer) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
	}
	type suite struct {
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	out := struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []*suite `xml:"testsuite"`
	}{Tests: len(r.Results) + len(r.FileErrors), Failures: r.Failed()}
	suites := map[string]*suite{}
	for _, path := range r.Files {
		s := &suite{Name: path}
		suites[path] = s
		out.Suites = append(out.Suites, s)
		if err := r.FileErrors[path]; err != nil {
			s.Tests, s.Failures = 1, 1
			s.Cases = append(s.Cases, testcase{Name: path, Classname: path, Time: "0",
				Failure: &failure{Message: "test file error", Text: err.Error()}})
		}
	}
	for _, res := range r.Results {
		s := suites[res.Test.File]
		c := testcase{Name: res.Test.Name, Classname: res.Test.File, Time: fmt.Sprintf("%.3f", res.Duration.Seconds())}
		s.Tests++
		if !res.Passed() {
			s.Failures++
			var text []string
			for _, f := range res.Failures {
				text = append(text, fmt.Sprintf("%s:%d: %s", res.Test.File, f.Line, f.Msg))
			}
			first := strings.SplitN(res.Failures[0].Msg, "\n", 2)[0]
			c.Failure = &failure{Message: fmt.Sprintf("%s:%d: %s", res.Test.File, res.Failures[0].Line, first), Text: strings.Join(text, "\n")}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
