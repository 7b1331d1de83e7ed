package telemetry

import (
	"context"

	"go.opentelemetry.io/otel/metric"
)

// builder creates instruments and keeps the first error, so that
// newMetrics reads as a list.
type builder struct {
	m   metric.Meter
	err error
}

func (b *builder) keep(err error) {
	if err != nil && b.err == nil {
		b.err = err
	}
}

func (b *builder) histogram(name, desc string) metric.Float64Histogram {
	h, err := b.m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	b.keep(err)
	return h
}

func (b *builder) counter(name, unit, desc string) metric.Int64Counter {
	c, err := b.m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.keep(err)
	return c
}

func (b *builder) upDown(name, unit, desc string) metric.Int64UpDownCounter {
	c, err := b.m.Int64UpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	b.keep(err)
	return c
}

func (b *builder) gauge(name, unit, desc string, observe func(metric.Int64Observer)) {
	_, err := b.m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			observe(o)
			return nil
		}))
	b.keep(err)
}

func (b *builder) counterFunc(name, unit, desc string, observe func(metric.Int64Observer)) {
	_, err := b.m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc),
		metric.WithInt64Callback(func(_ context.Context, o metric.Int64Observer) error {
			observe(o)
			return nil
		}))
	b.keep(err)
}
