package events

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
)

// mustFixture returns a testdata file's bytes.
func mustFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// wantError checks err's client key and that its message mentions each
// of the given fragments. key "" expects no error.
func wantError(tb testing.TB, err error, key string, fragments ...string) {
	tb.Helper()
	if got := core.ErrorKey(err); got != key {
		tb.Fatalf("error key = %q, want %q (error: %v)", got, key, err)
	}
	msg := core.ErrorMessage(err)
	for _, f := range fragments {
		if !strings.Contains(msg, f) {
			tb.Errorf("error message %q does not mention %q", msg, f)
		}
	}
}

// at parses an RFC 3339 time for expectations.
func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t.UTC()
}

// headerGetter is a case-insensitive header lookup, like http.Header.Get.
func headerGetter(h map[string]string) func(string) string {
	return func(name string) string {
		for k, v := range h {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
}
