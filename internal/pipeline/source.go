package pipeline

// Source is the pipeline file's text as it was loaded (the operator
// console shows it next to File and SHA256). Read-only.
func (p *Pipeline) Source() []byte { return p.source }
