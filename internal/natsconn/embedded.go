package natsconn

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startTimeout bounds how long the embedded server may take to start
// (JetStream recovers its store first).
const startTimeout = 30 * time.Second

// ErrEmbedded is wrapped by the errors of starting the embedded server.
var ErrEmbedded = errors.New("embedded NATS server")

// startEmbedded runs nats-server with JetStream on opts.StoreDir. When
// the default address is taken (another gateway, a local nats-server), it
// listens on a free port instead and says so.
func startEmbedded(opts Options, log *slog.Logger) (*server.Server, error) {
	if opts.StoreDir == "" {
		return nil, fmt.Errorf("%w: the embedded server needs a store directory", ErrConfig)
	}
	host, port, err := hostPort(opts.Listen)
	if err != nil {
		return nil, err
	}
	fallback := opts.DefaultListen && !opts.InProcess && port > 0
	if fallback && !free(host, port) {
		log.Warn("nats: the default NATS port is taken; the embedded server listens on a free port instead (set nats.listen to choose)",
			"taken", opts.Listen)
		port = -1
	}
	ns, err := runServer(opts, host, port, log)
	if err != nil && fallback && port > 0 {
		// Lost a race for the default port: take any.
		ns, err = runServer(opts, host, -1, log)
	}
	if err != nil {
		return nil, err
	}
	if opts.InProcess {
		log.Info("nats: embedded NATS started (in-process connections only)", "store", opts.StoreDir)
	} else {
		log.Info("nats: embedded NATS listening", "url", ns.ClientURL(), "store", opts.StoreDir,
			"watch", fmt.Sprintf("nats sub '>' --server %s", ns.ClientURL()))
	}
	return ns, nil
}

// hostPort splits listen for nats-server, where -1 asks for any free port
// (nats-server's 0 means its default, 4222).
func hostPort(listen string) (string, int, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("%w: listen %q: %w", ErrConfig, listen, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < -1 || n > 65535 {
		return "", 0, fmt.Errorf("%w: listen %q: bad port", ErrConfig, listen)
	}
	if n == 0 {
		n = -1
	}
	return host, n, nil
}

func runServer(opts Options, host string, port int, log *slog.Logger) (*server.Server, error) {
	sopts := &server.Options{
		ServerName: "manifold",
		Host:       host,
		Port:       port,
		DontListen: opts.InProcess,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		NoSigs:     true,
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEmbedded, err)
	}
	logger := &serverLog{log: log.With("component", "nats-server"), fatal: make(chan string, 1)}
	ns.SetLoggerV2(logger, false, false, false)
	go ns.Start()
	deadline := time.Now().Add(startTimeout)
	for !ns.ReadyForConnections(50 * time.Millisecond) {
		select {
		case msg := <-logger.fatal:
			ns.Shutdown()
			return nil, fmt.Errorf("%w: %s", ErrEmbedded, msg)
		default:
		}
		if time.Now().After(deadline) {
			ns.Shutdown()
			return nil, fmt.Errorf("%w: not ready after %s", ErrEmbedded, startTimeout)
		}
	}
	return ns, nil
}

// free reports whether host:port can be listened on now.
func free(host string, port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// serverLog routes nats-server's log to slog: its notices are debug
// detail for a gateway operator. Fatal messages (a port taken, a store
// that cannot be opened) are reported to the starter instead of exiting.
type serverLog struct {
	log   *slog.Logger
	fatal chan string
}

func (l *serverLog) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *serverLog) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *serverLog) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *serverLog) Tracef(format string, v ...any)  {}

func (l *serverLog) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	select {
	case l.fatal <- msg:
	default:
	}
}
