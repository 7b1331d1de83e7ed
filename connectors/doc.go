// Package connectors calls upstreams: the backends that pipeline steps fan
// out to.
//
// A Connector makes one call. The transports, HTTP and GraphQL, make one
// exchange each. New wraps a transport in the upstream's resilience stack
// and returns an *Upstream, the Connector the engine uses; New is the one
// place where the order of the layers is written out.
//
// # Responses and errors
//
// (*Upstream).Do always returns a non-nil *Response, also with an error, so
// that traces and audit events can say what happened: Attempts, Breaker,
// Cache and, for a *StatusError, the upstream's Status and Header. Body is
// only meaningful without error.
//
// Response.Body may be shared with the cache and with the callers of a
// coalesced call: treat it as read-only. Header is each caller's own.
//
// Errors wrap the sentinels ErrResponseTooLarge, ErrBreakerOpen and
// ErrInvalidRequest, the types *StatusError and *GraphQLError, or
// context.DeadlineExceeded / context.Canceled; inspect them with errors.Is
// and errors.As. Their messages name the method and URL without userinfo
// or query, and never include request headers, but they are internal: map
// them to a problem document before a client sees them.
package connectors
