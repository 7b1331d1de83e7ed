package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/manifoldgw/manifold/internal/redact"
)

// JWKS timing. The background refresh honours the JWKS's Cache-Control
// between jwksMinInterval and the configured jwks_refresh; a failed fetch
// is retried after jwksMinInterval, while the last good keys stay in use.
const (
	jwksMinInterval = 30 * time.Second
	// DefaultRefetchEvery bounds refetches triggered by tokens naming an
	// unknown kid, so that forged kids cannot hammer the issuer.
	DefaultRefetchEvery = 10 * time.Second
	// DefaultJWKSWait is how long New waits for the first JWKS before
	// serving anyway (tokens then fail until the keys arrive).
	DefaultJWKSWait = 5 * time.Second
)

// jwksSource is a JWKS URL kept fresh in the background by jwx's cache
// (httprc). A failed refresh keeps the last good set.
type jwksSource struct {
	url     string
	cache   *jwk.Cache
	res     *httprc.ResourceBase[jwk.Set]
	refetch *rate.Limiter
	flight  singleflight.Group
	stop    context.CancelFunc
	log     *slog.Logger
}

func newJWKS(ctx context.Context, url string, refresh time.Duration, client *http.Client, opts Options) (*jwksSource, error) {
	cctx, stop := context.WithCancel(context.Background())
	hc := httprc.NewClient(httprc.WithWorkers(1), httprc.WithErrorSink(logSink{opts.Logger}))
	cache, err := jwk.NewCache(cctx, hc)
	if err != nil {
		stop()
		return nil, fmt.Errorf("jwks cache: %w", err)
	}
	s := &jwksSource{url: url, cache: cache, stop: stop, log: opts.Logger,
		refetch: rate.NewLimiter(rate.Every(opts.RefetchEvery), 1)}
	err = cache.Register(ctx, url,
		jwk.WithHTTPClient(client),
		jwk.WithMinInterval(min(jwksMinInterval, refresh)),
		jwk.WithMaxInterval(refresh),
		jwk.WithWaitReady(false),
	)
	if err == nil {
		s.res, err = cache.LookupResource(ctx, url)
	}
	if err != nil {
		s.close()
		return nil, fmt.Errorf("jwks %s: %w", redact.URLs(url), redact.Error(err))
	}
	wctx, cancel := context.WithTimeout(ctx, opts.JWKSWait)
	defer cancel()
	if err := s.res.Ready(wctx); err != nil {
		opts.Logger.Warn("JWKS not fetched yet: bearer tokens are refused until it is", "jwks_url", redact.URLs(url))
	}
	return s, nil
}

// set returns the last good key set, or nil before the first fetch.
func (s *jwksSource) set() jwk.Set { return s.res.Resource() }

// lookup returns the key called kid. An unknown kid (a rotated issuer key)
// refetches the JWKS, at most once per refetch interval and once for all
// concurrent callers.
func (s *jwksSource) lookup(ctx context.Context, kid string) (jwk.Key, bool) {
	if set := s.set(); set != nil {
		if k, ok := set.LookupKeyID(kid); ok {
			return k, true
		}
	}
	if !s.refetch.Allow() {
		return nil, false
	}
	_, _, _ = s.flight.Do("refetch", func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := s.cache.Refresh(rctx, s.url); err != nil {
			s.log.Warn("JWKS refetch for an unknown kid failed; keeping the last good keys", "jwks_url", redact.URLs(s.url), "err", redact.Error(err))
		}
		return nil, nil
	})
	if set := s.set(); set != nil {
		return set.LookupKeyID(kid)
	}
	return nil, false
}

func (s *jwksSource) close() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.cache.Shutdown(ctx)
	s.stop()
}

// logSink logs background JWKS fetch failures.
type logSink struct{ log *slog.Logger }

func (l logSink) Put(_ context.Context, err error) {
	l.log.Warn("JWKS refresh failed; keeping the last good keys", "err", redact.Error(err))
}
