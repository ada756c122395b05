package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/promorelay/promorelay/internal/dynamolocal"
)

// rieModule is the Lambda Runtime Interface Emulator the test installs when
// none is on the machine. The module has no release tags, so it is pinned to
// a pseudo-version (what @latest resolved to when this was written) to keep
// every machine on the same emulator.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

const invokePath = "/2015-03-31/functions/function/invocations"

func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }

// TestUnderRuntimeInterfaceEmulator runs the real bootstrap binary under
// Amazon's Lambda Runtime Interface Emulator against DynamoDB Local, and
// invokes it with API Gateway HTTP API (payload 2.0) events, as Lambda would.
func TestUnderRuntimeInterfaceEmulator(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("the Lambda Runtime Interface Emulator runs only on Linux, not %s: run this test on Linux", runtime.GOOS)
	}
	endpoint := dynamolocal.Shared(t)
	bootstrap := buildBootstrap(t)
	rie := findRIE(t)
	fn := startRIE(t, rie, bootstrap, []string{
		"PROMORELAY_STORE=dynamo",
		"PROMORELAY_DYNAMO_ENDPOINT=" + endpoint,
		"PROMORELAY_DYNAMO_TABLE=" + uniqueTableName(t),
		"PROMORELAY_DYNAMO_CREATE_TABLE=true",
		"AWS_REGION=us-east-1",
	})

	t.Run("healthz", func(t *testing.T) {
		resp := fn.invoke(t, httpEvent("GET", "/healthz"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200; body %s", resp.StatusCode, responseBody(t, resp))
		}
		var body struct{ Status, Store string }
		decodeJSON(t, responseBody(t, resp), &body)
		if body.Status != "ok" || body.Store != "dynamo" {
			t.Errorf("body %+v, want status ok and store dynamo", body)
		}
		if ct := resp.Headers["Content-Type"]; !strings.HasPrefix(ct, "application/json") {
			t.Errorf("Content-Type %q, want application/json", ct)
		}
		// The middleware chain runs behind the proxy too.
		if resp.Headers["X-Request-Id"] == "" {
			t.Errorf("no X-Request-Id header in %v", resp.Headers)
		}
	})

	t.Run("unknown path", func(t *testing.T) {
		resp := fn.invoke(t, httpEvent("GET", "/no/such/route"))
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("status %d, want 404; body %s", resp.StatusCode, responseBody(t, resp))
		}
		var body struct {
			Code int
			Key  string
		}
		decodeJSON(t, responseBody(t, resp), &body)
		if body.Key != "not_found" || body.Code != http.StatusNotFound {
			t.Errorf("body %+v, want key not_found and code 404", body)
		}
	})
}

// TestNewHandlerRefusesLocalEngines keeps a misconfigured function from
// acknowledging writes into a Lambda's throwaway disk.
func TestNewHandlerRefusesLocalEngines(t *testing.T) {
	env := map[string]string{"PROMORELAY_STORE": "embedded", "PROMORELAY_DATA": t.TempDir()}
	h, _, err := newHandler(t.Context(), func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "PROMORELAY_STORE=dynamo") {
		t.Fatalf("newHandler with the embedded engine = %v, %v; want an error naming PROMORELAY_STORE=dynamo", h, err)
	}
}

// httpEvent is what API Gateway sends for method and path on the
// `ANY /{proxy+}` route of template.yaml.
func httpEvent(method, path string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       "ANY /{proxy+}",
		RawPath:        path,
		Headers:        map[string]string{"accept": "application/json", "user-agent": "promorelay-test"},
		PathParameters: map[string]string{"proxy": strings.TrimPrefix(path, "/")},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:  "123456789012",
			APIID:      "api",
			DomainName: "api.execute-api.us-east-1.amazonaws.com",
			RequestID:  "test-request",
			RouteKey:   "ANY /{proxy+}",
			Stage:      "$default",
			TimeEpoch:  time.Now().UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    method,
				Path:      path,
				Protocol:  "HTTP/1.1",
				SourceIP:  "127.0.0.1",
				UserAgent: "promorelay-test",
			},
		},
	}
}

func responseBody(t *testing.T, resp events.APIGatewayV2HTTPResponse) string {
	t.Helper()
	if !resp.IsBase64Encoded {
		return resp.Body
	}
	b, err := base64.StdEncoding.DecodeString(resp.Body)
	if err != nil {
		t.Fatalf("decode base64 body: %v", err)
	}
	return string(b)
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decode %q: %v", s, err)
	}
}

// uniqueTableName keeps runs that share one DynamoDB Local apart.
func uniqueTableName(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random table name: %v", err)
	}
	return "api-rie-" + hex.EncodeToString(b[:])
}

// buildBootstrap compiles this package for Linux on the test machine's
// architecture, named bootstrap as the provided.al2023 runtime expects.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, ".")
	// CGO off: Lambda's OS-only runtimes get a static binary from sam build too.
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+runtime.GOARCH, "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the api function: %v\n%s", err, msg)
	}
	return out
}

// findRIE returns the path of aws-lambda-rie: from PATH, else from the Go
// bin directory, else installed there with go install.
func findRIE(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	bin := goBinDir(t)
	p := filepath.Join(bin, "aws-lambda-rie")
	if isExecutable(p) {
		return p
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", rieModule)
	// Outside the module, so its go.mod cannot influence the install.
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+bin)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("aws-lambda-rie is neither on PATH nor in %s, and installing it failed: %v\n%s\ninstall it with: go install %s", bin, err, msg, rieModule)
	}
	if !isExecutable(p) {
		t.Fatalf("go install %s did not produce %s", rieModule, p)
	}
	t.Logf("installed %s into %s", rieModule, bin)
	return p
}

// goBinDir is where go install puts commands: GOBIN, else GOPATH's first
// entry's bin.
func goBinDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		t.Fatalf("go env GOBIN GOPATH: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("go env GOBIN GOPATH printed %q", out)
	}
	if lines[0] != "" {
		return lines[0]
	}
	gopath := filepath.SplitList(lines[1])
	if len(gopath) == 0 || gopath[0] == "" {
		t.Fatalf("go env reports neither GOBIN nor GOPATH")
	}
	return filepath.Join(gopath[0], "bin")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// function is a running emulator with the bootstrap behind it.
type function struct {
	url    string
	output string // file holding the emulator's and the function's output
}

// startRIE starts the emulator on free loopback ports, with env (and nothing
// of the test's own environment) as the function's environment, and stops
// it when the test ends.
func startRIE(t *testing.T, rie, bootstrap string, env []string) *function {
	t.Helper()
	const attempts = 3 // a probed free port can be taken before the emulator binds it
	for attempt := 1; ; attempt++ {
		fn, err := launchRIE(t, rie, bootstrap, env)
		if err == nil {
			return fn
		}
		if !errors.Is(err, errPortTaken) || attempt == attempts {
			t.Fatalf("start aws-lambda-rie: %v", err)
		}
	}
}

var errPortTaken = errors.New("port taken")

func launchRIE(t *testing.T, rie, bootstrap string, env []string) (*function, error) {
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// The Runtime API defaults to the fixed port 9001; a free one lets
	// several runs share the machine.
	runtimeAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	output, err := os.CreateTemp(t.TempDir(), "rie-*.log")
	if err != nil {
		return nil, fmt.Errorf("create output file: %w", err)
	}
	defer output.Close() // the child keeps its own descriptor

	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", apiAddr,
		"--runtime-api-address", runtimeAddr,
		bootstrap)
	// PATH only besides env: the developer's AWS_* or PROMORELAY_* settings
	// must not leak into the function.
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_FUNCTION_TIMEOUT=30"}, env...)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Stdout = output
	cmd.Stderr = output
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %s: %w", rie, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	fn := &function{url: "http://" + apiAddr + invokePath, output: output.Name()}
	if err := waitListening(apiAddr, exited, 30*time.Second); err != nil {
		stop(cmd, exited)
		log := fn.log()
		if strings.Contains(log, "address already in use") {
			return nil, fmt.Errorf("%w: %s", errPortTaken, log)
		}
		return nil, fmt.Errorf("%w\n--- aws-lambda-rie output ---\n%s", err, log)
	}
	t.Cleanup(func() {
		stop(cmd, exited)
		if t.Failed() {
			t.Logf("--- aws-lambda-rie output ---\n%s", fn.log())
		}
	})
	return fn, nil
}

// stop asks the emulator to shut down (it then ends the function process,
// which lives in its own process group) and kills it if it does not.
func stop(cmd *exec.Cmd, exited <-chan struct{}) {
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func waitListening(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return errors.New("aws-lambda-rie exited during start-up")
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aws-lambda-rie not listening on %s after %s: %w", addr, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func (f *function) log() string {
	b, err := os.ReadFile(f.output)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", f.output, err)
	}
	const keep = 16 << 10
	if len(b) > keep {
		b = b[len(b)-keep:]
	}
	return string(b)
}

// invoke sends one event through the emulator's invoke API and decodes the
// function's API Gateway response.
func (f *function) invoke(t *testing.T, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encode event: %v", err)
	}
	// The first invocation also pays the cold start: process start, config,
	// and creating the table in DynamoDB Local.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("build invoke request: %v", err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", ev.RawPath, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read invoke response: %v", err)
	}
	if res.StatusCode != http.StatusOK {
		t.Fatalf("invoke %s: emulator answered %s: %s", ev.RawPath, res.Status, raw)
	}
	var resp events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &resp); err != nil || resp.StatusCode == 0 {
		// A function error comes back as {"errorMessage": ..., "errorType": ...}.
		t.Fatalf("invoke %s: not an API Gateway response (%v): %s", ev.RawPath, err, raw)
	}
	return resp
}
