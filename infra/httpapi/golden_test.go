package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the scenario")

const goldenDir = "testdata/golden"

// goldenHeaders are the response headers a golden keeps; the others vary
// from run to run (request ids, dates, rate-limit counters).
var goldenHeaders = []string{
	"Content-Type", "Idempotent-Replayed", "Vary", "Retry-After",
	"Access-Control-Allow-Origin", "Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers", "Access-Control-Max-Age",
}

type goldenRecord struct {
	Request  goldenRequest  `json:"request"`
	Response goldenResponse `json:"response"`
}

type goldenRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Auth    string            `json:"auth"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

type goldenResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    any               `json:"body,omitempty"`
}

// volatile matches what differs between runs: object ids (of vouchers,
// campaigns, publications, redemptions, rollbacks, customers, events,
// projects, keys, gift card transactions, validation rules, assignments,
// validation sessions and async actions), generated codes (the scenario's
// code_configs use the prefixes SUM-, GV- and RND- with six random
// characters), timestamps, request ids and API tokens.
var volatile = regexp.MustCompile(
	`\b(camp|pub|r|rr|cust|evt|proj|app|capp|vtx|val|asgm|ssn|aa|seg|ord|del|act|msg|exp)_[0-9a-z]{26}\b` +
		`|\bv_[0-9a-z]+\b` + // voucher ids name their code in base32

		`|\b(SUM|GV|RND)-[0-9A-Za-z]{6}\b` +
		`|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})` +
		`|\br-[0-9a-f]{16}\b` +
		`|\bwk_[0-9a-f]{48}\b|\bwhsec_[A-Za-z0-9+/]{43}=` +
		`|\b[0-9a-f]{48}\b` +
		`|http://127\.0\.0\.1:\d+`) // the test server (export links)

// normalizer replaces volatile values with placeholders. Ids and codes are
// numbered by first appearance over the whole scenario, so the same object
// has the same placeholder in every golden file.
type normalizer struct {
	seen  map[string]string
	count map[string]int
}

func newNormalizer() *normalizer {
	return &normalizer{seen: map[string]string{}, count: map[string]int{}}
}

func (n *normalizer) text(s string) string {
	return volatile.ReplaceAllStringFunc(s, func(m string) string {
		switch {
		case m[0] >= '0' && m[0] <= '9' && len(m) >= 19 && m[10] == 'T':
			return "<time>"
		case strings.HasPrefix(m, "r-") && len(m) == 18:
			return "<request_id>"
		case len(m) == 48 && !strings.ContainsAny(m, "_-"):
			return "<token>"
		case strings.HasPrefix(m, "wk_"):
			return "<write_key>"
		case strings.HasPrefix(m, "whsec_"):
			return "<webhook_secret>"
		case strings.HasPrefix(m, "http://"):
			return "<server>"
		}
		if p, ok := n.seen[m]; ok {
			return p
		}
		var p string
		if i := strings.IndexByte(m, '_'); i > 0 {
			n.count[m[:i]]++
			p = fmt.Sprintf("<%s_%d>", m[:i], n.count[m[:i]])
		} else {
			prefix := m[:strings.IndexByte(m, '-')]
			n.count[prefix+"-"]++
			p = fmt.Sprintf("<%s-code-%d>", prefix, n.count[prefix+"-"])
		}
		n.seen[m] = p
		return p
	})
}

func (n *normalizer) fresh() int {
	total := 0
	for _, c := range n.count {
		total += c
	}
	return total
}

// golden renders the exchange as its golden file.
func (n *normalizer) golden(tb testing.TB, ex *exchange) []byte {
	tb.Helper()
	rec := goldenRecord{
		Request:  goldenRequest{Method: ex.req.Method, Path: ex.req.Path, Auth: ex.req.Auth.String(), Headers: ex.req.Header},
		Response: goldenResponse{Status: ex.Status, Body: ex.JSON},
	}
	switch {
	case ex.req.RawNote != "":
		rec.Request.Body = ex.req.RawNote
	case ex.Sent != nil:
		if v, err := decodeJSON(ex.Sent); err == nil {
			rec.Request.Body = v
		} else {
			rec.Request.Body = string(ex.Sent) // malformed on purpose
		}
	}
	for _, h := range goldenHeaders {
		if v := ex.Header.Values(h); len(v) > 0 {
			if rec.Response.Headers == nil {
				rec.Response.Headers = map[string]string{}
			}
			rec.Response.Headers[h] = strings.Join(v, ", ")
		}
	}
	before := n.fresh()
	out := []byte(n.text(string(encode(tb, rec))))
	if ex.sortList == "" {
		return out
	}
	if n.fresh() != before {
		tb.Errorf("%s: the listing shows objects no earlier step showed; its golden would depend on list order", ex.name)
	}
	var sorted goldenRecord
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&sorted); err != nil {
		tb.Fatalf("%s: %v", ex.name, err)
	}
	if body, ok := sorted.Response.Body.(map[string]any); ok {
		if items, ok := body[ex.sortList].([]any); ok {
			slices.SortFunc(items, func(a, b any) int {
				return bytes.Compare(encode(tb, a), encode(tb, b))
			})
		}
	}
	return encode(tb, sorted)
}

func encode(tb testing.TB, v any) []byte {
	tb.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		tb.Fatalf("encode golden: %v", err)
	}
	return b.Bytes()
}

// TestGolden compares every exchange of the scenario with its golden file in
// testdata/golden; -update rewrites them (and removes stale ones).
func TestGolden(t *testing.T) {
	exchanges := runScenario(t)
	n := newNormalizer()
	files := map[string]bool{}
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, ex := range exchanges {
		got := n.golden(t, ex)
		name := ex.name + ".json"
		files[name] = true
		path := filepath.Join(goldenDir, name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (go test ./infra/httpapi -run Golden -update writes it)", path, err)
			continue
		}
		if !bytes.Equal(want, got) {
			t.Errorf("%s %s: response differs from %s (-want +got):\n%s", ex.req.Method, ex.req.Path, path, lineDiff(string(want), string(got)))
		}
	}
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if files[e.Name()] {
			continue
		}
		if *update {
			if err := os.Remove(filepath.Join(goldenDir, e.Name())); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("stale golden file %s: no scenario step writes it (-update removes it)", e.Name())
	}
}

// TestGoldenInvariants checks what the goldens only show: refused requests
// write nothing, and an idempotent replay answers exactly as the first call
// did without doing the work again.
func TestGoldenInvariants(t *testing.T) {
	exchanges := runScenario(t)
	byName := map[string]*exchange{}
	for _, ex := range exchanges {
		byName[ex.name] = ex
		// A refusal the reference expects must write nothing. (A refusal of
		// a request the reference accepts is TestContract's to report.)
		if ex.Status >= 400 && ex.Status < 500 && ex.want >= 400 && ex.writes == writesAnything {
			t.Errorf("%s: %d response without a no-write check (declare the step with refused or writes)", ex.name, ex.Status)
		}
		if ex.writes == writesAnything {
			continue
		}
		if ex.Before != ex.After {
			what := "wrote"
			if ex.writes == writesFailedRedemption {
				what = "changed more than the failed redemption record"
			}
			t.Errorf("%s: %s %s answered %d but %s (-before +after):\n%s",
				ex.name, ex.req.Method, ex.req.Path, ex.Status, what, lineDiff(ex.Before, ex.After))
		}
	}
	for _, ex := range exchanges {
		checkOwn(t, ex)
	}
	for _, pair := range [][2]string{
		{"idempotency_first", "idempotency_replay"},
		{"idempotency_redeem_first", "idempotency_redeem_replay"},
	} {
		first, replay := byName[pair[0]], byName[pair[1]]
		if first.Status != http.StatusOK || replay.Status != first.Status || !bytes.Equal(first.Body, replay.Body) {
			t.Errorf("%s: replay answered %d %s\nwant the first answer %d %s", replay.name, replay.Status, replay.Body, first.Status, first.Body)
		}
		if got := replay.Header.Get("Idempotent-Replayed"); got != "true" {
			t.Errorf("%s: Idempotent-Replayed = %q, want true", replay.name, got)
		}
		if got := first.Header.Get("Idempotent-Replayed"); got != "" {
			t.Errorf("%s: first call carries Idempotent-Replayed = %q", first.name, got)
		}
	}
}

// checkOwn compares the values promorelay's own contract fixes for the
// exchange (its additions to the reference) and the texts its body must
// mention.
func checkOwn(t *testing.T, ex *exchange) {
	t.Helper()
	paths := make([]string, 0, len(ex.own))
	for p := range ex.own {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if problem := differs(ex.JSON, p, ex.own[p]); problem != "" {
			t.Errorf("%s: body.%s %s; want %s", ex.name, p, problem, describeWant(ex.own[p]))
		}
	}
	for _, m := range ex.mentions {
		if !bytes.Contains(ex.Body, []byte(m)) {
			t.Errorf("%s: body does not mention %q:\n%s", ex.name, m, ex.Body)
		}
	}
}

// lineDiff is a line diff of want and got with three lines of context.
func lineDiff(want, got string) string {
	a, b := strings.Split(want, "\n"), strings.Split(got, "\n")
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	x, y := a[pre:len(a)-suf], b[pre:len(b)-suf]
	// lcs[i][j] is the longest common subsequence of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var lines []line
	for _, l := range a[max(0, pre-3):pre] {
		lines = append(lines, line{' ', l})
	}
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			lines = append(lines, line{' ', x[i]})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]):
			lines = append(lines, line{'-', x[i]})
			i++
		default:
			lines = append(lines, line{'+', y[j]})
			j++
		}
	}
	for _, l := range a[len(a)-suf : min(len(a), len(a)-suf+3)] {
		lines = append(lines, line{' ', l})
	}
	// Keep changed lines and three lines around them.
	keep := make([]bool, len(lines))
	for k, l := range lines {
		if l.op != ' ' {
			for d := max(0, k-3); d <= min(len(lines)-1, k+3); d++ {
				keep[d] = true
			}
		}
	}
	var out strings.Builder
	skipped := false
	for k, l := range lines {
		if !keep[k] {
			skipped = true
			continue
		}
		if skipped {
			out.WriteString("   ...\n")
			skipped = false
		}
		fmt.Fprintf(&out, "%c %s\n", l.op, l.text)
	}
	return out.String()
}
