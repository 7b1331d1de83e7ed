package audit

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// startTimeout bounds how long the embedded server may take to start
// (JetStream recovers its store first).
const startTimeout = 30 * time.Second

// ErrEmbedded is wrapped by the errors of starting the embedded server.
var ErrEmbedded = errors.New("audit: embedded NATS server")

// startEmbedded runs nats-server with JetStream on cfg.DataDir/nats. When
// the default address is taken (another gateway, a local nats-server), it
// listens on a free port instead and says so.
func startEmbedded(cfg Config, log *slog.Logger) (*server.Server, error) {
	host, port, err := cfg.hostPort()
	if err != nil {
		return nil, err
	}
	if cfg.DefaultListen && !cfg.InProcess && port > 0 && !free(host, port) {
		log.Warn("audit: the default NATS port is taken; the embedded server listens on a free port instead (set audit.listen to choose)",
			"taken", cfg.Listen)
		port = -1
	}
	ns, err := runServer(cfg, host, port, log)
	if err != nil && cfg.DefaultListen && !cfg.InProcess && port > 0 {
		// Lost a race for the default port: take any.
		ns, err = runServer(cfg, host, -1, log)
	}
	if err != nil {
		return nil, err
	}
	if cfg.InProcess {
		log.Info("audit: embedded NATS started (in-process connections only)", "store", filepath.Join(cfg.DataDir, "nats"))
	} else {
		log.Info("audit: embedded NATS listening", "url", ns.ClientURL(), "store", filepath.Join(cfg.DataDir, "nats"),
			"watch", fmt.Sprintf("nats sub '%s.>' --server %s", cfg.Subject, ns.ClientURL()))
	}
	return ns, nil
}

func runServer(cfg Config, host string, port int, log *slog.Logger) (*server.Server, error) {
	opts := &server.Options{
		ServerName: "manifold-audit",
		Host:       host,
		Port:       port,
		DontListen: cfg.InProcess,
		JetStream:  true,
		StoreDir:   filepath.Join(cfg.DataDir, "nats"),
		NoSigs:     true,
	}
	ns, err := server.NewServer(opts)
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
