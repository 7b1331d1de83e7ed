package graphqlview

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/manifoldgw/manifold/internal/event"
	"github.com/manifoldgw/manifold/internal/refusal"
	"github.com/manifoldgw/manifold/internal/server"
	"github.com/manifoldgw/manifold/openapi"
	"github.com/manifoldgw/manifold/resolvers"
)

// Path is where the view is served.
const Path = "/graphql"

// Serving limits and sizes.
const (
	// RunCost is what one run adds to an operation's complexity, so that
	// the complexity limit also bounds how many pipelines one request
	// runs (aliases can repeat a field).
	RunCost = 100
	// ParserTokenLimit bounds the size of a document before it is parsed.
	ParserTokenLimit = 2_000
	// KeepAlive is the ping interval of WebSocket and SSE streams.
	KeepAlive     = 15 * time.Second
	defaultBuffer = 64
)

// Options configure a View.
type Options struct {
	Logger *slog.Logger
	// FeedBuffer is how many finished calls a subscriber may fall behind
	// before the feed drops calls for it (0: 64).
	FeedBuffer int
	// Specs gives each plan's OpenAPI document: a run's params and body
	// are checked against its pipeline's operation, as a REST request is.
	// Nil: the View keeps its own.
	Specs *openapi.Specs
	// Refusals counts the requests and operations refused by the view's
	// bounds (nil: uncounted).
	Refusals *refusal.Counts
	// QueryCacheBytes and APQCacheBytes bound the parsed-query and
	// persisted-query caches (0: QueryCacheBytes, APQCacheBytes).
	QueryCacheBytes, APQCacheBytes int
}

// View is the GraphQL surface and the recorder feeding its runs
// subscription. Caches (persisted queries, parsed documents) and the feed
// outlive reloads; the executor is rebuilt for each Runtime.
type View struct {
	log      *slog.Logger
	feed     *Feed
	apq      *byteLRU[string]
	queries  *byteLRU[*ast.QueryDocument]
	subs     *subscriptions
	refusals *refusal.Counts
	assets   *assetStore
	specs    *openapi.Specs
}

var (
	_ server.Surface = (*View)(nil)
	_ event.Recorder = (*View)(nil)
)

// New returns a View.
func New(opts Options) *View {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.FeedBuffer <= 0 {
		opts.FeedBuffer = defaultBuffer
	}
	if opts.Specs == nil {
		opts.Specs = openapi.New(openapi.Options{Logger: opts.Logger})
	}
	if opts.QueryCacheBytes <= 0 {
		opts.QueryCacheBytes = QueryCacheBytes
	}
	if opts.APQCacheBytes <= 0 {
		opts.APQCacheBytes = APQCacheBytes
	}
	return &View{
		log:      opts.Logger,
		feed:     NewFeed(opts.FeedBuffer, opts.Logger),
		apq:      newByteLRU(opts.APQCacheBytes, apqCost),
		queries:  newByteLRU(opts.QueryCacheBytes, docCost),
		subs:     &subscriptions{},
		refusals: opts.Refusals,
		assets:   &assetStore{},
		specs:    opts.Specs,
	}
}

// Mount serves /graphql and the playground's assets for rt.
func (v *View) Mount(mux *http.ServeMux, s *server.Server, rt *server.Runtime) error {
	spec, err := v.specs.For(rt.Plan)
	if err != nil {
		return err
	}
	v.feed.SetBudget(rt.Plan.Gateway.GraphQL.RunsRate, v.refusals)
	mux.Handle(Path, &endpoint{
		srv:        s,
		gql:        v.executor(s, rt, spec),
		playground: playgroundPage(),
		maxBody:    int64(rt.Plan.Gateway.Server.MaxBody),
	})
	mux.Handle("GET "+assetsPath+"{dir}/{file}", v.assets.handler())
	return nil
}

// Record broadcasts a finished call to the runs subscribers.
func (v *View) Record(ctx context.Context, c *event.Call) { v.feed.Record(ctx, c) }

// Feed is the broadcaster behind the runs subscription.
func (v *View) Feed() *Feed { return v.feed }

// Subscriptions is how many subscriptions are open (admitted by
// graphql.max_subscriptions).
func (v *View) Subscriptions() int { return v.subs.Open() }

// CacheBytes is what the parsed-query and persisted-query caches hold.
func (v *View) CacheBytes() (queries, apq int) { return v.queries.Bytes(), v.apq.Bytes() }

// Close ends every subscription, so that streams do not hold a drain.
func (v *View) Close() { v.feed.Close() }

// executor builds the gqlgen server for rt with the limits of its
// gateway.yaml.
func (v *View) executor(s *server.Server, rt *server.Runtime, spec *openapi.Spec) *handler.Server {
	cfg := rt.Plan.Gateway.GraphQL
	c := resolvers.Config{Resolvers: &resolvers.Resolver{
		Server: s, Runtime: rt, Feed: v.feed, Requests: requestInfo, Spec: spec, Origin: requestOrigin,
	}}
	srv := handler.New(costed{resolvers.NewExecutableSchema(c)})
	limit := queryLimit{max: int(cfg.MaxQueryBytes), maxFields: cfg.MaxComplexity, refusals: v.refusals, parsed: v.queries}
	// A WebSocket message is a subscribe with its variables: max_body
	// bounds it as it bounds a POST.
	wsRead := int64(rt.Plan.Gateway.Server.MaxBody)
	srv.AddTransport(transport.Websocket{KeepAlivePingInterval: KeepAlive, InitTimeout: 10 * time.Second, PayloadReadLimit: &wsRead})
	srv.AddTransport(sseTransport{srv: s, limit: limit})
	srv.AddTransport(httpTransport{limit: limit})
	srv.SetQueryCache(v.queries)
	srv.SetParserTokenLimit(ParserTokenLimit)
	srv.SetDisableSuggestion(true)
	srv.SetErrorPresenter(v.present)
	srv.SetRecoverFunc(v.recover)
	// The query's length first: before persisted queries hash or store
	// it, and before it is parsed or cached.
	srv.Use(limit)
	if cfg.IntrospectionOn() {
		srv.Use(extension.Introspection{})
	} else {
		srv.Use(introspectionOff{})
		srv.SetDisableSuggestion(true) // "did you mean" would reveal the schema
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: v.apq})
	srv.Use(depthLimit{max: cfg.MaxDepth})
	srv.Use(extension.FixedComplexityLimit(cfg.MaxComplexity))
	srv.Use(operationLimit{cfg: cfg, subs: v.subs, refusals: v.refusals})
	return srv
}

// costed gives a run its cost. (The generated ComplexityRoot funcs cannot
// be used for it: the generated code asserts an absent JSON argument to
// `any`, which panics.)
type costed struct{ graphql.ExecutableSchema }

func (c costed) Complexity(ctx context.Context, typeName, field string, child int, args map[string]any) (int, bool) {
	if field == "run" && (typeName == "Query" || typeName == "Mutation") {
		return child + RunCost, true
	}
	return c.ExecutableSchema.Complexity(ctx, typeName, field, child, args)
}
