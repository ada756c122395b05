package embedded_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/promorelay/promorelay/core"
	"github.com/promorelay/promorelay/infra/embedded"
)

// TestCrashKeepsAcknowledgedWrites runs writers in a child process, kills it
// with SIGKILL after some writes were acknowledged, and checks that every
// acknowledged write is there after reopening.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PROMORELAY_CRASH_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(acked) < 2000 {
		if k, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			acked[k] = true
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	if len(acked) < 2000 {
		t.Fatalf("child acknowledged only %d writes", len(acked))
	}
	s, err := embedded.Open(embedded.Config{Dir: dir, SweepEvery: -1})
	if err != nil {
		t.Fatalf("reopen after crash: %v", err)
	}
	defer s.Close()
	for k := range acked {
		pk, sk, _ := strings.Cut(k, "|")
		if _, err := s.Get(context.Background(), core.Key{PK: pk, SK: sk}); err != nil {
			t.Fatalf("acknowledged %s lost: %v", k, err)
		}
	}
	t.Logf("%d acknowledged writes survived SIGKILL", len(acked))
}

// TestMain runs the crash test's child when asked to, instead of the tests.
func TestMain(m *testing.M) {
	if dir := os.Getenv("PROMORELAY_CRASH_CHILD"); dir != "" {
		crashChild(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild is the child of TestCrashKeepsAcknowledgedWrites: 8 writers
// write until killed, printing each acknowledged key.
func crashChild(dir string) {
	s, err := embedded.Open(embedded.Config{Dir: dir})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				k := core.Key{PK: fmt.Sprintf("w%d", w), SK: fmt.Sprintf("%08d", i)}
				err := s.Write(context.Background(),
					core.Put(core.Item{Key: k, Version: 1, Data: []byte("payload")}, core.IfNotExists()),
					core.UpdateOp(core.Update{Key: core.Key{PK: "counters", SK: fmt.Sprint(w)}, Adds: []core.Add{core.AddBy("n", 1)}}))
				if err != nil {
					return
				}
				mu.Lock()
				fmt.Printf("ACK %s|%s\n", k.PK, k.SK)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}
