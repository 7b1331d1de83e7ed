package security

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	mcpserver "github.com/manifoldgw/manifold/internal/mcp"
)

// mcpAnswers calls tool over MCP in session sid as a model would, and
// as a confused one would (arguments of the wrong shape), and returns
// every answer: the tool's results and errors, tools/list and the
// OpenAPI resource. The call of the tool must come back as a tool error
// carrying the upstream's refusal as a problem, so that the grep of the
// answers searches real MCP answers, not a session error.
func mcpAnswers(t *testing.T, base, sid, tool string) []byte {
	t.Helper()
	var out bytes.Buffer
	call := mcpPost(t, base, "127.0.0.1", sid, `{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"`+tool+`","arguments":{}}}`)
	var res struct {
		Result struct {
			IsError bool `json:"isError"`
			Meta    struct {
				Problem struct{ Status int } `json:"manifold/problem"`
			} `json:"_meta"`
		}
	}
	if err := json.Unmarshal(mcpMessage(call.body), &res); err != nil || !res.Result.IsError || res.Result.Meta.Problem.Status < 400 {
		t.Errorf("MCP %s: %d %s, want a tool error with the upstream's problem", tool, call.status, call.body)
	}
	out.Write(call.body)
	for _, msg := range []string{
		`{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"` + tool + `","arguments":{"q":["x"],"unknown":{"a":1}}}}`,
		`{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"` + tool + `","arguments":"not an object"}}`,
		`{"jsonrpc":"2.0","id":6,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":7,"method":"resources/read","params":{"uri":"` + mcpserver.SpecURI + `"}}`,
	} {
		out.Write(mcpPost(t, base, "127.0.0.1", sid, msg).body)
	}
	return out.Bytes()
}

// mcpMessage is the JSON-RPC message of an MCP answer, sent as JSON or as
// a server-sent event.
func mcpMessage(body []byte) []byte {
	for line := range strings.SplitSeq(string(body), "\n") {
		if d, ok := strings.CutPrefix(line, "data: "); ok {
			return []byte(d)
		}
	}
	return body
}
