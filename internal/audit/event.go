package audit

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"time"

	"github.com/nats-io/nuid"
	"go.opentelemetry.io/otel/trace"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/pipeline"
	"github.com/manifoldgw/manifold/internal/problem"
)

// CloudEvents attributes of audit events.
const (
	SpecVersion = "1.0"
	// TypeCall is the type of the event of one finished call.
	TypeCall = "dev.manifold.audit.call.v1"
	// TypeAdmin is the type of the event of an admin action or reload.
	TypeAdmin = "dev.manifold.audit.admin.v1"
	// DataSchema names the JSON Schema of both (schema/audit-event.v1.json).
	DataSchema = "https://raw.githubusercontent.com/manifoldgw/manifold/main/internal/audit/schema/audit-event.v1.json"
	// ContentType is the NATS Content-Type header of an event message:
	// structured mode of the CloudEvents NATS binding.
	ContentType = "application/cloudevents+json; charset=utf-8"
	// AdminToken is the last subject token of admin events:
	// <subject>.admin.
	AdminToken = "admin"
	// CallToken is the subject token before the pipeline name in call
	// events: <subject>.call.<pipeline>. Call and admin events never share
	// a subject, whatever a pipeline is named (even "admin").
	CallToken = "call"
)

// Event is a CloudEvents 1.0 event in structured JSON mode.
type Event struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	Time            time.Time `json:"time"`
	Subject         string    `json:"subject"`
	DataContentType string    `json:"datacontenttype"`
	DataSchema      string    `json:"dataschema"`
	// Extension attributes: the replica that produced the event and the
	// plan it served (revision 0: from a directory). Omitted when unset.
	Replica      string          `json:"manifoldreplica,omitempty"`
	PlanRevision uint64          `json:"manifoldplanrevision,omitempty"`
	PlanHash     string          `json:"manifoldplanhash,omitempty"`
	Data         json.RawMessage `json:"data"`
}

// CallData is the data of a TypeCall event: who called which pipeline
// through which surface, what they got, and what each step did. It holds
// no bodies, no headers and no secrets.
type CallData struct {
	RequestID  string     `json:"request_id"`
	TraceID    string     `json:"trace_id"`
	Surface    string     `json:"surface"`
	Pipeline   string     `json:"pipeline"`
	Method     string     `json:"method"`
	Path       string     `json:"path"`
	Status     int        `json:"status"`
	Problem    string     `json:"problem,omitempty"`
	DurationMS float64    `json:"duration_ms"`
	Consumer   string     `json:"consumer"` // Identity.Key(): "key:chatgpt", "jwt:alice"
	Client     string     `json:"client"`
	Cache      string     `json:"cache"`
	Complete   bool       `json:"complete"`
	Missing    []string   `json:"missing"`
	Stale      []string   `json:"stale"`
	Steps      []StepData `json:"steps"`
}

// StepData is what one step of a call did.
type StepData struct {
	Name       string  `json:"name"`
	Upstream   string  `json:"upstream"`
	Status     int     `json:"status"` // HTTP status of the last answer, 0 for none
	DurationMS float64 `json:"duration_ms"`
	Calls      int     `json:"calls"`
	Attempts   int     `json:"attempts"`
	Cache      string  `json:"cache"` // hit, miss, stale, bypass or none
	Breaker    string  `json:"breaker"`
	Skipped    bool    `json:"skipped"`
	Optional   bool    `json:"optional"`
	Error      string  `json:"error,omitempty"`
}

// AdminData is the data of a TypeAdmin event.
type AdminData struct {
	Action  string         `json:"action"`
	TraceID string         `json:"trace_id"`
	Details map[string]any `json:"details"`
}

// entry is what the queue holds: the facts, encoded later, off the
// caller's goroutine.
type entry struct {
	id      string
	at      time.Time
	traceID string
	call    *event.Call
	admin   *AdminData
	encoded *item // admin events are encoded when recorded
}

// item returns the message to publish for e.
func (e *entry) item(cfg *Config) (*item, error) {
	if e.encoded != nil {
		return e.encoded, nil
	}
	return e.encode(cfg)
}

func newEntry(ctx context.Context, c *event.Call, a *AdminData) *entry {
	e := &entry{id: nuid.Next(), call: c, admin: a, at: time.Now()}
	if c != nil {
		e.traceID = c.TraceID
		if !c.Start.IsZero() {
			e.at = c.Start
		}
	}
	if e.traceID == "" {
		if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
			e.traceID = sc.TraceID().String()
		}
	}
	return e
}

// encode turns an entry into the message to publish.
func (e *entry) encode(cfg *Config) (*item, error) {
	ev := Event{
		SpecVersion: SpecVersion, ID: e.id, Source: cfg.Source, Time: e.at.UTC(),
		DataContentType: "application/json", DataSchema: DataSchema,
	}
	cfg.stamp(&ev)
	if e.call != nil {
		ev.Type, ev.Subject = TypeCall, e.call.Pipeline
		d := callData(e.call, e.traceID)
		b := appendCallEvent(eventBuf(), &ev, &d)
		return &item{subject: cfg.Subject + "." + CallToken + "." + e.call.Pipeline, id: e.id, data: b, pooled: true}, nil
	}
	ev.Type, ev.Subject = TypeAdmin, e.admin.Action
	a := *e.admin
	a.TraceID = e.traceID
	if a.Details == nil {
		a.Details = map[string]any{}
	}
	// One pass: the envelope with its data, not data encoded and then
	// copied in as raw JSON.
	b, err := json.Marshal(struct {
		Event
		Data AdminData `json:"data"`
	}{ev, a})
	if err != nil {
		return nil, err
	}
	return &item{subject: cfg.Subject + "." + AdminToken, id: e.id, data: b}, nil
}

func callData(c *event.Call, traceID string) CallData {
	d := CallData{
		RequestID: c.RequestID, TraceID: traceID, Surface: c.Surface, Pipeline: c.Pipeline,
		Method: c.Method, Path: c.Path, Status: c.Status, Problem: c.Problem,
		DurationMS: millis(c.Duration), Consumer: c.Consumer, Client: c.Client,
		Cache: cacheName(c.Cache), Complete: c.Complete,
		Missing: nonNil(c.Missing), Stale: nonNil(c.Stale), Steps: make([]StepData, 0, len(c.Steps)),
	}
	for _, s := range c.Steps {
		sd := StepData{
			Name: s.Name, Upstream: s.Upstream, Status: s.Status, DurationMS: millis(s.Duration),
			Calls: s.Calls, Attempts: s.Attempts, Cache: cacheName(s.Cache), Breaker: s.Breaker,
			Skipped: s.Skipped, Optional: s.Optional,
		}
		sd.Error = stepError(s.Name, s.Err)
		d.Steps = append(d.Steps, sd)
	}
	return d
}

// stepError is a short, safe message for a step's error: the problem
// mapper's detail, which names step, upstream and what went wrong, never a
// URL, header or body. A step cancelled by another step's failure says so.
func stepError(name string, err error) string {
	if err == nil {
		return ""
	}
	var se *pipeline.StepError
	if errors.As(err, &se) && se.Step != name {
		return "not run: step " + se.Step + " failed"
	}
	p := problem.From(err)
	if p.Detail != "" {
		return p.Detail
	}
	return p.Title
}

// millis is d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/1e3) / 1e3
}

func cacheName(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
