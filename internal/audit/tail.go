package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/manifoldgw/manifold/internal/redact"
)

// ClientOptions say how a command-line client reaches NATS.
type ClientOptions struct {
	Servers                  string // nats:// URLs, comma-separated
	Credentials, NKey, Token string
	TLSCA, TLSCert, TLSKey   string
	Name                     string // connection name ("" is "manifold audit tail")
}

// Dial connects a command-line client (no reconnects: it fails fast).
func Dial(o ClientOptions) (*nats.Conn, error) {
	auth, err := authOptions(Config{
		Credentials: o.Credentials, NKey: o.NKey, Token: o.Token,
		TLSCA: o.TLSCA, TLSCert: o.TLSCert, TLSKey: o.TLSKey,
	})
	if err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = "manifold audit tail"
	}
	nc, err := nats.Connect(o.Servers, append(auth, nats.Name(name), nats.Timeout(connectTimeout))...)
	if err != nil {
		return nil, fmt.Errorf("NATS %s: %w", redact.URLs(o.Servers), redact.Error(err))
	}
	return nc, nil
}

// TailOptions select the events Tail prints.
type TailOptions struct {
	Stream   string
	Subject  string
	Pipeline string        // only this pipeline's calls ("" all events, admin included)
	Since    time.Duration // only events stored within this duration (0: all)
	Follow   bool          // keep printing new events until ctx ends
	JSON     bool          // one event per line, as stored
}

// ErrNoStream is returned by Tail when the stream does not exist.
var ErrNoStream = errors.New("audit: no audit stream")

// Tail prints the selected events of the stream to out, oldest first: the
// ones stored now, then, with Follow, new ones until ctx ends.
func Tail(ctx context.Context, nc *nats.Conn, o TailOptions, out io.Writer) error {
	if o.Stream == "" {
		o.Stream = "MANIFOLD_AUDIT"
	}
	if o.Subject == "" {
		o.Subject = "manifold.audit"
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	cfg := jetstream.ConsumerConfig{
		FilterSubject:     o.Subject + ".>",
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
	}
	if o.Pipeline != "" {
		cfg.FilterSubject = o.Subject + "." + o.Pipeline
	}
	if o.Since > 0 {
		t := time.Now().Add(-o.Since)
		cfg.DeliverPolicy, cfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &t
	}
	cons, err := js.CreateConsumer(ctx, o.Stream, cfg)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return fmt.Errorf("%w %s at %s (is a gateway running with audit on?)", ErrNoStream, o.Stream, nc.ConnectedUrlRedacted())
	}
	if err != nil {
		return fmt.Errorf("audit: tail %s: %w", o.Stream, err)
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = js.DeleteConsumer(dctx, o.Stream, cons.CachedInfo().Name)
	}()
	return tailMessages(ctx, cons, o, out)
}

func tailMessages(ctx context.Context, cons jetstream.Consumer, o TailOptions, out io.Writer) error {
	remaining := cons.CachedInfo().NumPending
	if remaining == 0 && !o.Follow {
		return nil
	}
	it, err := cons.Messages()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if errors.Is(err, jetstream.ErrMsgIteratorClosed) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := printEvent(out, msg.Data(), o.JSON); err != nil {
			return err
		}
		if remaining--; !o.Follow && remaining == 0 {
			return nil
		}
	}
}

// printEvent writes one event: as stored, or as one or more lines for
// people.
func printEvent(out io.Writer, data []byte, asJSON bool) error {
	if asJSON {
		_, err := fmt.Fprintf(out, "%s\n", data)
		return err
	}
	var b strings.Builder
	formatEvent(&b, data)
	_, err := io.WriteString(out, b.String())
	return err
}
