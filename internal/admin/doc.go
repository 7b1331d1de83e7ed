// Package admin is the gateway's admin API: JSON in and out, served on its
// own loopback listener and guarded by the admin key (gateway.yaml
// `admin.key`), in the spirit of APISIX's Admin API.
//
//	GET  /pipelines, /pipelines/{name}       pipelines with their file and hash
//	GET  /upstreams, /upstreams/{name}       upstreams with breaker state and counts
//	PUT  /upstreams/{name}/breaker           {"state": "open" | "closed" | "auto"}
//	POST /cache/purge                        {"all": true} | {"pipeline": ...} | {"upstream": ...}
//	GET  /config                             the effective configuration, secrets redacted
//	POST /reload, GET /reload                reload the pipeline directory; the last reload
//	GET  /healthz, /readyz, /metrics         as on the main listener, without the key
//
// In cluster mode (Options.Cluster set) reload, purge and breaker force
// reach every replica through internal/control, and the answer gains a
// "replicas" member: acted, failed and not_answered.
//
// Errors are RFC 9457 problem documents. Every change is logged and, when
// audit is on, published as an admin audit event.
package admin
