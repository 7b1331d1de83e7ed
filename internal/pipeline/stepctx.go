package pipeline

import "context"

type stepKey struct{}

// StepFrom returns the name of the step whose upstream call ctx belongs
// to, or "". The engine sets it for each step, so that a transport below
// the resilience stack can tell which step a call came from (`manifold
// test` answers per step). A call coalesced with an identical call of
// another step carries the first caller's step.
func StepFrom(ctx context.Context) string {
	s, _ := ctx.Value(stepKey{}).(string)
	return s
}

func withStep(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, stepKey{}, name)
}
