package dynamolocal

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// newClient returns a client for endpoint. DynamoDB Local keeps one database
// per access key ID and region, so tests that create tables pass their own
// accessKey to stay invisible to the others, whatever order they run in.
func newClient(endpoint, accessKey string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, "local", ""),
		BaseEndpoint: aws.String(endpoint),
		// The local endpoint is not the real service; skip its CRC32
		// response check (DynamoDB's only response checksum option).
		DisableValidateResponseChecksum: true,
	})
}

func TestSharedListTablesEmpty(t *testing.T) {
	client := newClient(Shared(t), "local")
	out, err := client.ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	if len(out.TableNames) != 0 {
		t.Errorf("ListTables = %q, want no tables", out.TableNames)
	}
}

func TestSharedCreatePutGetRoundTrip(t *testing.T) {
	ctx := t.Context()
	client := newClient(Shared(t), "roundtrip")
	table := aws.String("round_trip")
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            table,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	_, err = client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: table,
		Item: map[string]types.AttributeValue{
			"id":    &types.AttributeValueMemberS{Value: "promo-1"},
			"count": &types.AttributeValueMemberN{Value: "42"},
		},
	})
	if err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      table,
		Key:            map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: "promo-1"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	id, _ := got.Item["id"].(*types.AttributeValueMemberS)
	count, _ := got.Item["count"].(*types.AttributeValueMemberN)
	if len(got.Item) != 2 || id == nil || id.Value != "promo-1" || count == nil || count.Value != "42" {
		t.Errorf("GetItem = %#v, want id=promo-1 count=42", got.Item)
	}
}

// TestStartClose uses its own server to check that Close really stops the
// JVM and can be called twice.
func TestStartClose(t *testing.T) {
	s, err := Start(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if !strings.HasPrefix(s.Endpoint(), "http://127.0.0.1:") {
		t.Errorf("Endpoint() = %q, want http://127.0.0.1:PORT", s.Endpoint())
	}
	if _, err := newClient(s.Endpoint(), "local").ListTables(t.Context(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-s.exited:
	default:
		t.Fatal("JVM still running after Close")
	}
	client := &http.Client{Timeout: 2 * time.Second}
	if resp, err := client.Post(s.Endpoint(), "application/x-amz-json-1.0", http.NoBody); err == nil {
		resp.Body.Close()
		t.Errorf("%s still answers after Close: %s", s.Endpoint(), resp.Status)
	}
	if _, err := os.Stat(s.workDir); !os.IsNotExist(err) {
		t.Errorf("working directory %s not removed: %v", s.workDir, err)
	}
}

func TestStartWithoutJava(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Start(t.Context())
	if err == nil || !strings.Contains(err.Error(), "apt-get install openjdk-17-jre-headless") {
		t.Fatalf("Start without java: err = %v, want install hint", err)
	}
}

func TestEnsureInstalledWithoutNPM(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // empty cache, so it must download
	t.Setenv("PATH", t.TempDir())
	_, err := EnsureInstalled(t.Context())
	if err == nil || !strings.Contains(err.Error(), "apt-get install npm") {
		t.Fatalf("EnsureInstalled without npm: err = %v, want install hint", err)
	}
}

func TestCacheDir(t *testing.T) {
	tests := []struct {
		name, xdg, want string
	}{
		{"xdg", "/xdg/cache", "/xdg/cache/promorelay/dynamodb-local-1.25.1"},
		{"unset", "", "/home/u/.cache/promorelay/dynamodb-local-1.25.1"},
		{"relative ignored", "rel/cache", "/home/u/.cache/promorelay/dynamodb-local-1.25.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", "/home/u")
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			got, err := CacheDir()
			if err != nil || got != tt.want {
				t.Errorf("CacheDir() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

type tarEntry struct {
	name     string
	typeflag byte
	body     string
	linkname string
}

func writeTarball(t *testing.T, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typeflag, Mode: 0o644, Size: int64(len(e.body)), Linkname: e.linkname}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pkg.tgz")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestUnpackKeepsOnlyEmulator(t *testing.T) {
	tarball := writeTarball(t, []tarEntry{
		{name: "package/package.json", typeflag: tar.TypeReg, body: "{}"},
		{name: "package/emulator/DynamoDBLocal.jar", typeflag: tar.TypeReg, body: "jar"},
		{name: "package/emulator/DynamoDBLocal_lib/a.so", typeflag: tar.TypeReg, body: "so"},
	})
	dest := t.TempDir()
	if err := unpack(tarball, dest); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"emulator/DynamoDBLocal.jar":      "jar",
		"emulator/DynamoDBLocal_lib/a.so": "so",
	} {
		got, err := os.ReadFile(filepath.Join(dest, name))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "package.json")); !os.IsNotExist(err) {
		t.Errorf("package.json was unpacked: %v", err)
	}
}

func TestUnpackRejectsUnsafeEntries(t *testing.T) {
	tests := []struct {
		name  string
		entry tarEntry
	}{
		{"parent escape", tarEntry{name: "package/emulator/../../evil", typeflag: tar.TypeReg, body: "x"}},
		{"sibling escape", tarEntry{name: "package/emulator/../evil", typeflag: tar.TypeReg, body: "x"}},
		{"symlink", tarEntry{name: "package/emulator/link", typeflag: tar.TypeSymlink, linkname: "/etc/passwd"}},
		{"hard link", tarEntry{name: "package/emulator/link", typeflag: tar.TypeLink, linkname: "package/package.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dest := filepath.Join(parent, "dest")
			if err := unpack(writeTarball(t, []tarEntry{tt.entry}), dest); err == nil {
				t.Fatal("unpack succeeded, want error")
			}
			for _, p := range []string{filepath.Join(parent, "evil"), filepath.Join(dest, "evil"), filepath.Join(dest, "emulator", "link")} {
				if _, err := os.Lstat(p); !os.IsNotExist(err) {
					t.Errorf("%s exists after rejected unpack", p)
				}
			}
		})
	}
}

func TestTailBufferKeepsTail(t *testing.T) {
	b := &tailBuffer{limit: 8}
	for _, s := range []string{"hello ", "world", "!"} {
		if _, err := b.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.String(), "o world!"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestLaunchOnTakenPort checks that a port grabbed by someone else between
// freePort and the JVM's bind is reported as retryable, promptly, and leaves
// no JVM behind (Jetty does not exit on a failed bind).
func TestLaunchOnTakenPort(t *testing.T) {
	java, err := exec.LookPath("java")
	if err != nil {
		t.Fatal(errJavaMissing)
	}
	emulatorDir, err := EnsureInstalled(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Never accepting means probes get no answer, so only the JVM's bind
	// failure can end the wait early.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	start := time.Now()
	s, err := launchOnPort(t.Context(), java, emulatorDir, l.Addr().(*net.TCPAddr).Port)
	if err == nil {
		_ = s.Close()
		t.Fatal("launch on a taken port succeeded")
	}
	if !errors.Is(err, errPortTaken) {
		t.Fatalf("launch on a taken port: %v, want errPortTaken", err)
	}
	if d := time.Since(start); d > readyTimeout/2 {
		t.Errorf("took %s to notice the taken port", d)
	}
}
