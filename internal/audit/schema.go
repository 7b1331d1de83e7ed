package audit

import _ "embed"

// schemaV1 is the JSON Schema of the events (both types), version 1.
//
//go:embed schema/audit-event.v1.json
var schemaV1 []byte

// Schema returns the JSON Schema (draft 2020-12) of audit events, version
// 1, as published at DataSchema.
func Schema() []byte { return append([]byte(nil), schemaV1...) }
