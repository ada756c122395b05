package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/infra/embedded"
)

// TestMain lets the tests run the real command in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("PROMORELAY_TEST_CHILD") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigPrecedenceAndValidation(t *testing.T) {
	m, err := NewMain([]string{"--addr", "127.0.0.1:9999"}, env(map[string]string{
		"PROMORELAY_ADDR": "127.0.0.1:7777", "PROMORELAY_DATA": "/tmp/x", "PROMORELAY_DYNAMO_CREATE_TABLE": "true",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.Addr != "127.0.0.1:9999" || m.Config.DataDir != "/tmp/x" || m.Config.Store != "embedded" || !m.Config.Dynamo.CreateTable {
		t.Fatalf("config %+v", m.Config)
	}
	_, err = NewMain([]string{"--store", "postgres", "--addr", "nope", "--log-level", "loud"}, env(nil), io.Discard)
	if err == nil {
		t.Fatal("want error")
	}
	for _, want := range []string{`store "postgres"`, `addr "nope"`, `log-level "loud"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
	_, err = NewMain(nil, env(map[string]string{"PROMORELAY_STORE": "dynamo", "PROMORELAY_DYNAMO_TABLE": "x"}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "table name") {
		t.Fatalf("short dynamo table name: %v", err)
	}
}

// TestServeHealthAndGracefulStop serves on the embedded engine, checks
// /healthz, stops, and finds committed data after reopening the data dir.
func TestServeHealthAndGracefulStop(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	m, err := NewMain([]string{"--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json"}, env(nil), &logs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Open(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx) }()
	k := core.Key{PK: "p", SK: "committed"}
	if err := m.Store.Write(ctx, core.Put(core.Item{Key: k, Version: 1})); err != nil {
		t.Fatal(err)
	}
	res, err := http.Get("http://" + m.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	_ = json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != 200 || body["status"] != "ok" || body["store"] != "embedded" {
		t.Fatalf("healthz: %d %v", res.StatusCode, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no stop log in %s", logs.String())
	}
	s, err := embedded.Open(embedded.Config{Dir: dir, SweepEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Get(context.Background(), k); err != nil {
		t.Fatalf("committed item lost: %v", err)
	}
}

// TestSIGTERM runs the real command line in a child process and stops it with
// SIGTERM: it exits 0 after logging the shutdown.
func TestSIGTERM(t *testing.T) {
	cmd := exec.Command(os.Args[0], "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "PROMORELAY_TEST_CHILD=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var addr string
	deadline := time.After(30 * time.Second)
	for addr == "" {
		select {
		case l := <-lines:
			if _, rest, ok := strings.Cut(l, "addr=http://"); ok {
				addr, _, _ = strings.Cut(rest, " ")
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatal("server did not start")
		}
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, strings.Join(rest, "\n"))
	}
	if got := strings.Join(rest, "\n"); !strings.Contains(got, "shutting down") || !strings.Contains(got, "stopped") {
		t.Fatalf("shutdown not logged:\n%s", got)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"frobnicate"}, env(nil), &out, &out)
	if err == nil || !strings.Contains(out.String(), `unknown command "frobnicate"`) || !strings.Contains(out.String(), "promorelay serve") {
		t.Fatalf("err %v, output %q", err, out.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"help"}, env(nil), &out, &out); err != nil || !strings.Contains(out.String(), "Usage") {
		t.Fatalf("help: %v %q", err, out.String())
	}
}
