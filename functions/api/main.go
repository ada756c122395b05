// Command api is the HTTP API Lambda: API Gateway HTTP API events (payload
// format 2.0) go through the API Gateway proxy into the same handler tree
// that `promorelay serve` runs locally.
//
// Configuration comes from the environment only (see infra/config); on AWS
// template.yaml sets PROMORELAY_STORE=dynamo and PROMORELAY_DYNAMO_TABLE.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/infra/config"
	"github.com/promorelay/promorelay/internal/app"
)

func main() {
	// Built once per execution environment (the cold start) and reused by
	// every invocation it serves.
	handler, a, err := newHandler(context.Background(), os.Getenv, os.Stderr)
	if err != nil {
		// Lambda reports the exit as an init failure and logs stderr.
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
	// When Lambda retires the execution environment it sends SIGTERM (with
	// this option the runtime registers for it): the pending event schema
	// observations are written then.
	lambda.StartWithOptions(httpadapter.NewV2(handler).ProxyWithContext, lambda.WithEnableSIGTERM(func() {
		if err := a.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "api: shutdown:", err)
		}
	}))
}

// newHandler reads the configuration through getenv, opens the store it
// names and returns the HTTP handler tree, logging to logOut. It refuses any
// engine but DynamoDB: an embedded store on a Lambda's disk would lose every
// acknowledged write when the execution environment goes away.
func newHandler(ctx context.Context, getenv func(string) string, logOut io.Writer) (http.Handler, *app.App, error) {
	cfg, err := config.Load("api", nil, getenv, logOut)
	if err != nil {
		return nil, nil, fmt.Errorf("load config: %w", err)
	}
	if cfg.Store != config.EngineDynamo {
		return nil, nil, fmt.Errorf("store %q: the api function needs PROMORELAY_STORE=%s", cfg.Store, config.EngineDynamo)
	}
	store, err := cfg.OpenStore(ctx, core.SystemClock{})
	if err != nil {
		return nil, nil, fmt.Errorf("open %s store: %w", cfg.Store, err)
	}
	a := app.New(store, core.SystemClock{})
	// Goroutines do not outlive a Lambda response: segment backfills run
	// within the request for up to 5 s and stay checkpointed beyond that.
	_ = a.Audience.Backfills.Close()
	a.Audience.Backfills, a.Audience.InlineBackfillFor = nil, 5*time.Second
	// Exports run within the request that creates them, for the same reason.
	a.Exports.Workers.Close()
	a.Exports.Workers = nil
	return a.Handler(app.HTTPOptions{
		Engine: cfg.Store, Logger: cfg.Logger(logOut), AdminToken: cfg.AdminToken,
	}), a, nil
}
