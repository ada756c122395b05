// Package dynamolocal runs Amazon's DynamoDB Local emulator for tests.
//
// DynamoDB Local is not published on any registry this project can reach
// except npm, where it ships inside the amplify-dynamodb-simulator package.
// The first use on a machine downloads that package with `npm pack` and
// unpacks its emulator into the user cache directory; later runs reuse the
// cache without touching the network. Running it needs Java 17+.
//
// A test package typically shares one emulator for the whole test binary:
//
//	func TestMain(m *testing.M) { os.Exit(dynamolocal.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		endpoint := dynamolocal.Shared(t)
//		...
//	}
//
// The emulator keeps a separate database per access key ID and region, so
// tests that must not see each other's tables can use distinct access keys.
package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	// version is the DynamoDB Local release inside npmSpec; it names the cache
	// directory so that a future upgrade never reuses an older unpacked copy.
	version = "1.25.1"

	npmSpec    = "amplify-dynamodb-simulator@2.9.30"
	npmTarball = "amplify-dynamodb-simulator-2.9.30.tgz"
	// npmIntegrity is the registry's dist.integrity for npmSpec. npm checks it
	// too, but pinning it here means a changed registry entry or a poisoned
	// npm cache cannot put a different jar on the test machines.
	npmIntegrity = "sha512-xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=="

	// tarPrefix is the only part of the npm package we need; the rest is
	// JavaScript glue for the Amplify CLI.
	tarPrefix = "package/emulator/"
	// maxUnpackedBytes bounds what a corrupt or hostile archive can write to
	// disk; the real emulator is about 64 MB.
	maxUnpackedBytes = 1 << 30

	emulatorDirName = "emulator"
	jarName         = "DynamoDBLocal.jar"
	libDirName      = "DynamoDBLocal_lib"
	// markerName is written only after the emulator directory has been
	// renamed into place, so its presence means the cache is complete.
	markerName = ".installed"
	lockName   = ".lock"

	// readyTimeout is generous because a cold JVM on a loaded CI machine can
	// take tens of seconds; a healthy start takes one or two.
	readyTimeout = 60 * time.Second
	// sharedStartTimeout also covers the one-time 56 MB download.
	sharedStartTimeout = 5 * time.Minute
	// portAttempts covers the race between releasing the probed free port and
	// the JVM binding it.
	portAttempts = 3
	// outputLimit keeps enough of the emulator's output for a Java stack
	// trace without letting a chatty server grow memory without bound.
	outputLimit = 16 << 10
)

var (
	errJavaMissing = errors.New(`DynamoDB Local needs Java 17+ and "java" is not on PATH: install it, e.g. apt-get install openjdk-17-jre-headless`)
	errNPMMissing  = errors.New(`downloading DynamoDB Local needs npm and "npm" is not on PATH: install it, e.g. apt-get install npm`)
	// errPortTaken marks start failures worth retrying on another port.
	errPortTaken = errors.New("port taken by another process")
)

// Server is a running DynamoDB Local.
type Server struct {
	endpoint string
	cmd      *exec.Cmd
	workDir  string
	output   *tailBuffer

	exited  chan struct{} // closed once the JVM has exited and been reaped
	waitErr error         // result of cmd.Wait; read only after exited is closed

	closeOnce sync.Once
	closeErr  error
}

// Start makes sure DynamoDB Local is installed (downloading it on first use),
// starts it in memory on a free loopback port and waits until it answers
// requests. ctx bounds only the download and the start-up; the server keeps
// running until Close. Callers must Close the server.
func Start(ctx context.Context) (*Server, error) {
	// Checked before the download so a machine without Java fails fast
	// instead of first fetching 56 MB it cannot use.
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("start dynamodb local: %w", errJavaMissing)
	}
	emulatorDir, err := EnsureInstalled(ctx)
	if err != nil {
		return nil, fmt.Errorf("start dynamodb local: %w", err)
	}
	for attempt := 1; ; attempt++ {
		s, err := launch(ctx, java, emulatorDir)
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == portAttempts {
			return nil, fmt.Errorf("start dynamodb local: %w", err)
		}
	}
}

// Endpoint returns the base URL of the server, "http://127.0.0.1:PORT", for
// use as the SDK's BaseEndpoint.
func (s *Server) Endpoint() string { return s.endpoint }

// Close stops the server and removes its working directory. It kills the
// whole process group so no JVM outlives the tests. Calling Close again
// returns the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.stop() })
	return s.closeErr
}

func (s *Server) stop() error {
	var errs []error
	select {
	case <-s.exited:
		// Already reaped: its pid may now belong to an unrelated process,
		// so do not signal it.
	default:
		// In-memory data is disposable, so there is nothing a graceful
		// SIGTERM shutdown would save.
		if err := syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			errs = append(errs, fmt.Errorf("kill process group %d: %w", s.cmd.Process.Pid, err))
		}
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			errs = append(errs, fmt.Errorf("process %d did not exit after SIGKILL", s.cmd.Process.Pid))
		}
	}
	if err := os.RemoveAll(s.workDir); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop dynamodb local: %w", err)
	}
	return nil
}

// launch starts one JVM on a free port and waits for it to become ready.
func launch(ctx context.Context, java, emulatorDir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	return launchOnPort(ctx, java, emulatorDir, port)
}

// launchOnPort starts one JVM on port and waits for it to become ready,
// cleaning up after itself on failure.
func launchOnPort(ctx context.Context, java, emulatorDir string, port int) (*Server, error) {
	// The emulator writes dynamodb-local-metadata.json into its working
	// directory; a private one keeps it out of the shared cache and the
	// caller's tree.
	workDir, err := os.MkdirTemp("", "dynamodb-local-")
	if err != nil {
		return nil, fmt.Errorf("create working directory: %w", err)
	}
	// 1.25.1 rejects -host (see -help), so it listens on all interfaces;
	// we only ever address it through loopback.
	cmd := exec.Command(java,
		"-Djava.library.path="+filepath.Join(emulatorDir, libDirName),
		"-jar", filepath.Join(emulatorDir, jarName),
		"-inMemory",
		"-disableTelemetry",
		"-port", strconv.Itoa(port),
	)
	cmd.Dir = workDir
	out := &tailBuffer{limit: outputLimit}
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(workDir)
		return nil, fmt.Errorf("run %s: %w", java, err)
	}
	s := &Server{
		endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		cmd:      cmd,
		workDir:  workDir,
		output:   out,
		exited:   make(chan struct{}),
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		closeErr := s.Close()
		return nil, errors.Join(
			fmt.Errorf("%w\n--- DynamoDB Local output ---\n%s", err, out.String()),
			closeErr,
		)
	}
	return s, nil
}

// waitReady polls the endpoint until DynamoDB Local answers. Any response
// carrying an x-amzn-RequestId header will do (an unsigned request gets a
// 400 MissingAuthenticationToken); requiring the header keeps us from
// mistaking another server that grabbed the port for ours.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		// Jetty does not exit when the port is taken; it logs and hangs.
		if out := s.output.String(); strings.Contains(out, "Failed to bind") || strings.Contains(out, "BindException") {
			return fmt.Errorf("bind %s: %w", s.endpoint, errPortTaken)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("exited before accepting requests: %v", s.waitErr)
		default:
		}
		ready, err := s.probe(ctx, client)
		if ready {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s after %s: %w", s.endpoint, readyTimeout, context.Cause(ctx))
		case <-s.exited:
			// Loop once more so the bind check sees the final output.
		case <-tick.C:
		}
	}
}

// probe reports whether DynamoDB Local answered. Connection errors just mean
// "not yet"; a non-DynamoDB answer means someone else owns the port.
func (s *Server) probe(ctx context.Context, client *http.Client) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/", http.NoBody)
	if err != nil {
		return false, fmt.Errorf("build readiness request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := client.Do(req)
	if err != nil {
		return false, nil
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.Header.Get("X-Amzn-Requestid") == "" {
		return false, fmt.Errorf("%s answered %s without x-amzn-RequestId: %w", s.endpoint, resp.Status, errPortTaken)
	}
	return true, nil
}

// freePort asks the kernel for an unused loopback port. It is released
// before the JVM binds it, hence the retries in Start.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	return port, nil
}

// tailBuffer keeps the last limit bytes written to it. It is safe for
// concurrent use because os/exec copies the JVM's output from its own
// goroutine while waitReady reads it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.limit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// shared is the one emulator per test binary behind Shared and Main.
var shared struct {
	mainRunning atomic.Bool
	once        sync.Once
	srv         *Server
	err         error
}

// Shared returns the endpoint of one DynamoDB Local started lazily (sync.Once-like, goroutine safe) for the whole test binary; it calls tb.Fatal with the start error.
//
// The package's TestMain must call Main, which stops the server after the
// tests; Shared fails the test otherwise rather than leak a JVM. A failed
// start is not retried: every later call fails with the same error.
func Shared(tb testing.TB) string {
	tb.Helper()
	if !shared.mainRunning.Load() {
		tb.Fatal("dynamolocal.Shared needs the package's TestMain to call os.Exit(dynamolocal.Main(m)), which stops the shared server")
	}
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), sharedStartTimeout)
		defer cancel()
		shared.srv, shared.err = Start(ctx)
	})
	if shared.err != nil {
		tb.Fatal(shared.err)
	}
	return shared.srv.Endpoint()
}

// Main runs the tests of a package (call from TestMain: os.Exit(dynamolocal.Main(m))) and stops the shared server afterwards.
//
// If the tests fail it prints the shared server's output to stderr, since
// emulator-side errors otherwise go unseen. A failure to stop the server
// turns a passing run into exit code 1.
func Main(m *testing.M) int {
	shared.mainRunning.Store(true)
	code := m.Run()
	// Consuming the once both synchronises the read of shared.srv with any
	// start and stops a stray goroutine from starting a server nobody stops.
	shared.once.Do(func() { shared.err = errors.New("dynamolocal: Shared called after the tests finished") })
	if shared.srv == nil {
		return code
	}
	if code != 0 {
		fmt.Fprintf(os.Stderr, "--- DynamoDB Local output (%s) ---\n%s", shared.srv.Endpoint(), shared.srv.output.String())
	}
	if err := shared.srv.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "dynamolocal: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// CacheDir returns the directory holding the unpacked DynamoDB Local,
// ${XDG_CACHE_HOME:-$HOME/.cache}/promorelay/dynamodb-local-VERSION. It
// follows XDG on every OS, rather than os.UserCacheDir, so that Makefiles and
// CI cache keys can name the same path everywhere.
func CacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	// The XDG spec says relative values are invalid and must be ignored.
	if base == "" || !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("dynamodb local cache dir: %w", err)
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "promorelay", "dynamodb-local-"+version), nil
}

// EnsureInstalled downloads and unpacks DynamoDB Local into CacheDir unless it
// is already there, and returns the directory holding DynamoDBLocal.jar and
// DynamoDBLocal_lib. Concurrent callers, including other processes, wait for
// a single download. It reports a download on stderr, since it takes a while.
func EnsureInstalled(ctx context.Context) (emulatorDir string, err error) {
	dir, err := CacheDir()
	if err != nil {
		return "", fmt.Errorf("install dynamodb local: %w", err)
	}
	emulatorDir = filepath.Join(dir, emulatorDirName)
	// Lock-free fast path: the marker is written last, so once it exists
	// the cache is complete and never changes again.
	if installed(dir) {
		return emulatorDir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("install dynamodb local: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, lockName))
	if err != nil {
		return "", fmt.Errorf("install dynamodb local: %w", err)
	}
	defer unlock()
	// Another process may have finished while we waited for the lock.
	if installed(dir) {
		return emulatorDir, nil
	}
	if err := install(ctx, dir); err != nil {
		return "", fmt.Errorf("install dynamodb local: %w", err)
	}
	return emulatorDir, nil
}

func installed(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, markerName)); err != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, emulatorDirName, jarName))
	return err == nil
}

// install does the download and unpack; the caller holds the lock.
func install(ctx context.Context, dir string) error {
	npm, err := exec.LookPath("npm")
	if err != nil {
		return errNPMMissing
	}
	// Leftovers of an interrupted install are only ever touched under the
	// lock we hold, so they can be removed safely.
	stale, err := filepath.Glob(filepath.Join(dir, "tmp-*"))
	if err != nil {
		return err
	}
	for _, p := range append(stale, filepath.Join(dir, emulatorDirName)) {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("remove incomplete install: %w", err)
		}
	}
	// Inside dir, so the final rename stays on one filesystem.
	tmp, err := os.MkdirTemp(dir, "tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintf(os.Stderr, "dynamolocal: downloading DynamoDB Local %s (npm pack %s, 56 MB, once per machine)…\n", version, npmSpec)
	tarball, err := npmPack(ctx, npm, filepath.Join(tmp, "download"))
	if err != nil {
		return err
	}
	if err := verifyIntegrity(tarball); err != nil {
		return err
	}
	unpacked := filepath.Join(tmp, "unpacked")
	if err := unpack(tarball, unpacked); err != nil {
		return err
	}
	staged := filepath.Join(unpacked, emulatorDirName)
	for _, name := range []string{jarName, libDirName} {
		if _, err := os.Stat(filepath.Join(staged, name)); err != nil {
			return fmt.Errorf("%s lacks emulator/%s: %w", npmSpec, name, err)
		}
	}
	if err := os.Rename(staged, filepath.Join(dir, emulatorDirName)); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, markerName), []byte(version+"\n"), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "dynamolocal: installed DynamoDB Local %s in %s\n", version, dir)
	return nil
}

// lockFile takes an exclusive flock on path. It polls instead of blocking so
// that a cancelled ctx stops the wait for another process's download.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	fd := int(f.Fd())
	for {
		err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			// Closing the descriptor releases the lock.
			return func() { _ = f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, context.Cause(ctx))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// npmPack downloads the npm package tarball into dest and returns its path.
// `npm pack` fetches without installing, so no package scripts run and no
// node_modules tree is created.
func npmPack(ctx context.Context, npm, dest string) (string, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return "", err
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, npm, "pack", npmSpec, "--pack-destination", dest, "--ignore-scripts")
	// An empty working directory keeps any package.json or .npmrc of the
	// caller's tree out of the picture.
	cmd.Dir = dest
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("npm pack %s: %w\n%s", npmSpec, err, out.String())
	}
	tarball := filepath.Join(dest, npmTarball)
	if _, err := os.Stat(tarball); err != nil {
		return "", fmt.Errorf("npm pack %s did not produce %s: %w\n%s", npmSpec, npmTarball, err, out.String())
	}
	return tarball, nil
}

func verifyIntegrity(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("hash %s: %w", path, err)
	}
	got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil))
	if got != npmIntegrity {
		return fmt.Errorf("%s has integrity %s, want %s", filepath.Base(path), got, npmIntegrity)
	}
	return nil
}

// unpack extracts the entries under package/emulator/ of the gzipped tarball
// into dest/emulator. Entries escaping that directory, links and other
// special files are rejected rather than skipped, since the real package has
// none and their presence means the archive is not what we expect.
func unpack(tarball, dest string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("unpack %s: %w", filepath.Base(tarball), err)
	}
	defer gz.Close()
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return err
	}
	// os.Root refuses to resolve anything outside dest, a second line of
	// defence behind the name checks below.
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()

	tr := tar.NewReader(gz)
	var written int64
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("unpack %s: %w", filepath.Base(tarball), err)
		}
		if !strings.HasPrefix(hdr.Name, tarPrefix) {
			continue
		}
		name := filepath.Clean(filepath.FromSlash(strings.TrimPrefix(hdr.Name, "package/")))
		if !filepath.IsLocal(name) || !strings.HasPrefix(name, emulatorDirName+string(filepath.Separator)) {
			return fmt.Errorf("unpack %s: entry %q escapes %s", filepath.Base(tarball), hdr.Name, tarPrefix)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return fmt.Errorf("unpack %s: %w", hdr.Name, err)
			}
		case tar.TypeReg:
			n, err := writeEntry(root, name, hdr.FileInfo().Mode(), io.LimitReader(tr, maxUnpackedBytes-written+1))
			if err != nil {
				return fmt.Errorf("unpack %s: %w", hdr.Name, err)
			}
			written += n
			if written > maxUnpackedBytes {
				return fmt.Errorf("unpack %s: more than %d bytes under %s", filepath.Base(tarball), maxUnpackedBytes, tarPrefix)
			}
		default:
			return fmt.Errorf("unpack %s: entry %q has unsupported type %q", filepath.Base(tarball), hdr.Name, hdr.Typeflag)
		}
	}
}

func writeEntry(root *os.Root, name string, mode os.FileMode, r io.Reader) (int64, error) {
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return 0, err
	}
	perm := os.FileMode(0o644)
	if mode&0o111 != 0 {
		perm = 0o755
	}
	// O_EXCL: a duplicate entry would silently replace an earlier file.
	f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	return n, err
}
