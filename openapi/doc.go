// Package openapi is the gateway's published contract: it generates the
// OpenAPI 3.1 document of a pipeline directory (one operation per
// pipeline, problem responses and security schemes shared as components),
// the legacy ChatGPT plugin manifest, the GPT Actions lint that
// `manifold validate` runs, the request validation that checks every REST
// request against the document before any backend is called, and the
// import of a backend's OpenAPI (or Swagger 2.0) document into
// pass-through pipelines.
//
// The document is built with kin-openapi's model, written with a stable
// key order (same plan, same bytes) and validated by kin-openapi itself;
// requests are checked by kin-openapi's openapi3filter against that same
// 3.1 document, whose JSON Schema 2020-12 validator it uses for 3.1.
//
// The package depends on internal/pipeline and internal/server; neither
// depends on it. internal/launch wires it in as a server.Surface and a
// server.RequestValidator.
package openapi
