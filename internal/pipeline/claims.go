package pipeline

import "regexp"

var (
	// claimsWord is any mention of claims: .consumer.claims, $c.claims,
	// .["claims"].
	claimsWord = regexp.MustCompile(`\bclaims\b`)
	// consumerRef is a reference to .consumer, with the member read when
	// it is name or roles.
	consumerRef = regexp.MustCompile(`\.consumer\b(\.(?:name|roles)\b)?`)
	// consumerKey is .consumer written as a string key (."consumer",
	// .["consumer"]).
	consumerKey = regexp.MustCompile(`"consumer"`)
)

// ReadsClaims reports whether the pipeline's expressions may read the
// consumer's claims. Only then are the claims in the expressions' input
// (.consumer.claims) and in the response-cache key: two tenants never
// share an answer built from their claims, and a pipeline that reads no
// claims is not cached once per claim set.
func (c *Compiled) ReadsClaims() bool { return c.readsClaims }

// readsClaims tells, from the sources of a pipeline's expressions and
// templates, whether they may read claims: they name claims, or use
// .consumer other than as .consumer.name or .consumer.roles. Erring
// towards yes only costs cache hits. An expression that reaches the
// claims without naming them (`..`, `to_entries`) finds none: they are
// not in its input.
func readsClaims(p *Pipeline) bool {
	for _, src := range expressionSources(p) {
		if mayReadClaims(src) {
			return true
		}
	}
	return false
}

func mayReadClaims(src string) bool {
	if claimsWord.MatchString(src) || consumerKey.MatchString(src) {
		return true
	}
	for _, m := range consumerRef.FindAllStringSubmatch(src, -1) {
		if m[1] == "" {
			return true
		}
	}
	return false
}

// expressionSources lists the text of every expression and template of p
// that sees the run's input.
func expressionSources(p *Pipeline) []string {
	var out []string
	expr := func(e *Expr) {
		if e != nil {
			out = append(out, e.Src)
		}
	}
	tmpl := func(t *Template) {
		if t != nil && t.node != nil {
			out = append(out, t.node.String())
		}
	}
	expr(p.Output)
	for _, s := range p.Steps {
		if s == nil {
			continue
		}
		expr(s.When)
		expr(s.Foreach)
		expr(s.Select)
		tmpl(s.Path)
		tmpl(s.Body)
		tmpl(s.Variables)
		for _, t := range s.Headers {
			tmpl(t)
		}
		if s.Query != nil {
			for _, t := range s.Query.Params {
				tmpl(t)
			}
		}
	}
	return out
}
