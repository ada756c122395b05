// Command promorelay runs the whole promotion engine in one process on the
// embedded engine (serve) and carries the admin commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `promorelay: a self-hostable promotion engine and CDP connector.

Usage:
  promorelay serve [flags]     serve the HTTP API (see "promorelay serve -h")
  promorelay keys create --project NAME [--json] [store flags]
                               create API keys for a project (creating the project)
  promorelay sweep [--project NAME] [store flags]
                               re-evaluate time-relative segment rules that came due
  promorelay backfill --project NAME --segment ID [store flags]
                               run or continue a segment's backfill, showing progress
  promorelay help              show this help
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "promorelay:", err)
		}
		os.Exit(2)
	}
}

var errUsage = errors.New("usage")

// run dispatches a command line; main and the end-to-end tests share it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		args = []string{"serve"}
	}
	switch args[0] {
	case "serve":
		m, err := NewMain(args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		return m.Serve(ctx)
	case "keys":
		return keysCommand(ctx, args[1:], getenv, stdout, stderr)
	case "sweep":
		return sweepCommand(ctx, args[1:], getenv, stdout, stderr)
	case "backfill":
		return backfillCommand(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
