package natsconn

import (
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/manifoldgw/manifold/internal/redact"
)

// Dial connects a command-line client (no reconnects: it fails fast).
func Dial(opts Options) (*nats.Conn, error) {
	auth, err := authOptions(opts)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = "manifold cli"
	}
	nc, err := nats.Connect(opts.URL, append(auth, nats.Name(name), nats.Timeout(ConnectTimeout))...)
	if err != nil {
		return nil, fmt.Errorf("NATS %s: %w", redact.URLs(opts.URL), redact.Error(err))
	}
	return nc, nil
}
