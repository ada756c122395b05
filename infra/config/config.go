// Package config reads promorelay's settings from flags and the environment
// (a flag wins over its environment variable, which wins over the default)
// and opens the storage engine they name.
package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/infra/dynamo"
	"github.com/promorelay/promorelay/infra/embedded"
)

// Engine names.
const (
	EngineEmbedded = "embedded"
	EngineDynamo   = "dynamo"
)

// Config is the configuration of one promorelay process.
type Config struct {
	Addr      string // PROMORELAY_ADDR, --addr
	DataDir   string // PROMORELAY_DATA, --data (embedded engine)
	Store     string // PROMORELAY_STORE, --store: embedded | dynamo
	LogLevel  string // PROMORELAY_LOG_LEVEL, --log-level: debug | info | warn | error
	LogFormat string // PROMORELAY_LOG_FORMAT, --log-format: text | json
	// AdminToken (PROMORELAY_ADMIN_TOKEN, environment only: a flag would show
	// in process listings) enables the /admin endpoints.
	AdminToken string
	Dynamo     DynamoConfig
}

// DynamoConfig holds the DynamoDB engine's settings.
type DynamoConfig struct {
	Table       string // PROMORELAY_DYNAMO_TABLE, --dynamo-table
	Endpoint    string // PROMORELAY_DYNAMO_ENDPOINT, --dynamo-endpoint (DynamoDB Local)
	Region      string // AWS_REGION, --aws-region
	CreateTable bool   // PROMORELAY_DYNAMO_CREATE_TABLE, --dynamo-create-table
}

// Default returns the defaults: the embedded engine in ./data, serving on
// 127.0.0.1:8080.
func Default() Config {
	return Config{
		Addr:      "127.0.0.1:8080",
		DataDir:   "./data",
		Store:     EngineEmbedded,
		LogLevel:  "info",
		LogFormat: "text",
		Dynamo:    DynamoConfig{Table: "promorelay"},
	}
}

// setting ties one flag to its environment variable.
type setting struct {
	flag, env, usage string
	str              *string
	boolean          *bool
}

func (c *Config) settings() []setting {
	return []setting{
		{flag: "addr", env: "PROMORELAY_ADDR", usage: "listen address", str: &c.Addr},
		{flag: "data", env: "PROMORELAY_DATA", usage: "data directory of the embedded engine", str: &c.DataDir},
		{flag: "store", env: "PROMORELAY_STORE", usage: "storage engine: embedded or dynamo", str: &c.Store},
		{flag: "log-level", env: "PROMORELAY_LOG_LEVEL", usage: "debug, info, warn or error", str: &c.LogLevel},
		{flag: "log-format", env: "PROMORELAY_LOG_FORMAT", usage: "text or json", str: &c.LogFormat},
		{flag: "dynamo-table", env: "PROMORELAY_DYNAMO_TABLE", usage: "DynamoDB table name", str: &c.Dynamo.Table},
		{flag: "dynamo-endpoint", env: "PROMORELAY_DYNAMO_ENDPOINT", usage: "DynamoDB endpoint URL (e.g. DynamoDB Local)", str: &c.Dynamo.Endpoint},
		{flag: "aws-region", env: "AWS_REGION", usage: "AWS region", str: &c.Dynamo.Region},
		{flag: "dynamo-create-table", env: "PROMORELAY_DYNAMO_CREATE_TABLE", usage: "create the DynamoDB table if missing (development)", boolean: &c.Dynamo.CreateTable},
	}
}

// Load parses args (without the program and command names) over the
// environment over the defaults, and validates the result.
// extra, when given, registers a command's own flags on the same flag set.
func Load(name string, args []string, getenv func(string) string, out io.Writer, extra ...func(*flag.FlagSet)) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	for _, x := range extra {
		x(fs)
	}
	for _, s := range c.settings() {
		usage := fmt.Sprintf("%s (env %s)", s.usage, s.env)
		if s.boolean != nil {
			if v := getenv(s.env); v != "" {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return c, fmt.Errorf("%s=%q: not a boolean", s.env, v)
				}
				*s.boolean = b
			}
			fs.BoolVar(s.boolean, s.flag, *s.boolean, usage)
			continue
		}
		if v := getenv(s.env); v != "" {
			*s.str = v
		}
		fs.StringVar(s.str, s.flag, *s.str, usage)
	}
	c.AdminToken = getenv("PROMORELAY_ADMIN_TOKEN")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.Validate()
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		errs = append(errs, fmt.Errorf("addr %q: want host:port", c.Addr))
	}
	switch c.Store {
	case EngineEmbedded:
		if c.DataDir == "" {
			errs = append(errs, errors.New("data: the embedded engine needs a data directory"))
		}
	case EngineDynamo:
		if err := c.dynamoConfig(nil).Validate(); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("store %q: want embedded or dynamo", c.Store))
	}
	if _, err := c.level(); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("log-format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

func (c Config) level() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return l, fmt.Errorf("log-level %q: want debug, info, warn or error", c.LogLevel)
	}
	return l, nil
}

// Logger returns the process's structured logger writing to w.
func (c Config) Logger(w io.Writer) *slog.Logger {
	l, _ := c.level()
	opts := &slog.HandlerOptions{Level: l}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func (c Config) dynamoConfig(clock core.Clock) dynamo.Config {
	return dynamo.Config{
		Table:       c.Dynamo.Table,
		Endpoint:    c.Dynamo.Endpoint,
		Region:      c.Dynamo.Region,
		CreateTable: c.Dynamo.CreateTable,
		Clock:       clock,
	}
}

// OpenStore opens the engine c names.
func (c Config) OpenStore(ctx context.Context, clock core.Clock) (core.Store, error) {
	switch c.Store {
	case EngineEmbedded:
		return embedded.Open(embedded.Config{Dir: c.DataDir, Clock: clock})
	case EngineDynamo:
		return dynamo.New(ctx, c.dynamoConfig(clock))
	}
	return nil, fmt.Errorf("unknown store %q", c.Store)
}
