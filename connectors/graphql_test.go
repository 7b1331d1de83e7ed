package connectors

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
)

func TestGraphQL(t *testing.T) {
	const query = `{"query":"{ product(id: 1) { name } }","variables":{}}`
	tests := []struct {
		name       string
		status     int
		answer     string
		wantBody   string
		wantErrors []string // GraphQLError messages
		wantStatus int      // StatusError status
	}{
		{"data", 200, `{"data":{"product":{"name":"Tea"}}}`, `{"product":{"name":"Tea"}}`, nil, 0},
		{"no data", 200, `{}`, `null`, nil, 0},
		{"errors", 200, `{"data":null,"errors":[{"message":"a"},{"message":"b"}]}`, "", []string{"a", "b"}, 0},
		{"non-2xx", 400, `{"errors":[{"message":"syntax"}]}`, "", nil, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if r.Method != "POST" || r.URL.Path != "/graphql" || string(body) != query {
					t.Errorf("upstream got %s %s %s", r.Method, r.URL.Path, body)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.answer))
			})
			cfg := config(t, srv.URL)
			cfg.Kind = KindGraphQL
			u := newUpstream(t, cfg, Options{})
			resp, err := u.Do(context.Background(), &Request{Method: "POST", Path: "/graphql", Body: []byte(query)})
			var gerr *GraphQLError
			var serr *StatusError
			switch {
			case tt.wantErrors != nil:
				if !errors.As(err, &gerr) || !slices.Equal(gerr.Messages, tt.wantErrors) {
					t.Errorf("got %v, want GraphQL errors %q", err, tt.wantErrors)
				}
			case tt.wantStatus != 0:
				if !errors.As(err, &serr) || serr.Status != tt.wantStatus || serr.Detail != "syntax" {
					t.Errorf("got %v, want status %d with detail", err, tt.wantStatus)
				}
			default:
				if err != nil || string(resp.Body) != tt.wantBody {
					t.Errorf("got %s, %v; want %s", resp.Body, err, tt.wantBody)
				}
			}
		})
	}
}

func TestGraphQLInvalidAnswer(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`<html>`))
	})
	cfg := config(t, srv.URL)
	cfg.Kind = KindGraphQL
	u := newUpstream(t, cfg, Options{})
	if _, err := u.Do(context.Background(), &Request{Body: []byte(`{}`)}); err == nil {
		t.Error("want an error for a non-JSON answer")
	}
	if _, err := u.Do(context.Background(), &Request{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("got %v, want ErrInvalidRequest without a body", err)
	}
}
