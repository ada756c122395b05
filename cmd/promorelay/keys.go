package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/infra/config"
	"github.com/promorelay/promorelay/internal/app"
)

// keysCommand is "promorelay keys create": it opens the store directly. On
// the embedded engine the server must not be running (the data file is
// locked); use POST /admin/v1/projects/{name}/keys then.
func keysCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprintln(stderr, "usage: promorelay keys create --project NAME [--json] [--data DIR | --store dynamo …]")
		return errUsage
	}
	var name string
	var asJSON bool
	cfg, err := config.Load("promorelay keys create", args[1:], getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "project", "", "project name (created if new)")
		fs.BoolVar(&asJSON, "json", false, "print the keys as one JSON object")
	})
	if errors.Is(err, flag.ErrHelp) {
		return errUsage
	}
	if err != nil {
		return err
	}
	if name == "" {
		return errors.New("keys create: --project is required")
	}
	store, err := cfg.OpenStore(ctx, core.SystemClock{})
	if err != nil {
		return fmt.Errorf("open %s store (is promorelay serve running on the same data? use its admin endpoint): %w", cfg.Store, err)
	}
	defer store.Close()
	keys, err := app.New(store, nil).Projects.CreateKeys(ctx, name)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(keys)
	}
	fmt.Fprintf(stdout, "project                %s (%s)\nserver app id          %s\nserver token           %s\nclient app id          %s\nclient token           %s\n"+
		"segment write key      %s\nsegment shared secret  %s\nwoocommerce secret     %s\nwebhook secret         %s\n\n"+
		"The tokens and the write key are shown once; promorelay keeps only their hashes.\n",
		keys.Project, keys.ProjectID, keys.AppID, keys.AppToken, keys.ClientAppID, keys.ClientToken,
		keys.SegmentWriteKey, keys.SegmentSharedSecret, keys.WooCommerceSecret, keys.WebhookSecret)
	return nil
}
