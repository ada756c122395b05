package codegen_test

import (
	"crypto/rand"
	"errors"
	"io"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/promorelay/promorelay/core/promo/codegen"
)

// seeded returns a deterministic random source.
func seeded(seed uint64) io.Reader {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return mrand.NewChaCha8(s)
}

// counting is a source that yields 0, 1, …, 255, 0, 1, … : every byte value
// equally often, which makes sampling bias exactly visible.
type counting struct{ next byte }

func (c *counting) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = c.next
		c.next++
	}
	return len(p), nil
}

// constant is a broken source that yields one byte value forever.
type constant byte

func (c constant) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(c)
	}
	return len(p), nil
}

func MustNew(tb testing.TB, cfg codegen.Config, src io.Reader) *codegen.Generator {
	tb.Helper()
	g, err := codegen.New(cfg, src)
	if err != nil {
		tb.Fatalf("New(%+v): %v", cfg, err)
	}
	return g
}

func MustCode(tb testing.TB, g *codegen.Generator) string {
	tb.Helper()
	code, err := g.Code()
	if err != nil {
		tb.Fatalf("Code: %v", err)
	}
	return code
}

// checkCode fails unless code is one cfg (defaults applied) can produce.
func checkCode(tb testing.TB, cfg codegen.Config, code string) {
	tb.Helper()
	body := cfg.Pattern
	if body == "" {
		body = strings.Repeat("#", cfg.Length)
	}
	want := cfg.Prefix + body + cfg.Postfix
	if len(code) != len(want) {
		tb.Fatalf("code %q has length %d, want %d (%q)", code, len(code), len(want), want)
	}
	if !strings.HasPrefix(code, cfg.Prefix) || !strings.HasSuffix(code, cfg.Postfix) {
		tb.Fatalf("code %q lacks prefix %q or postfix %q", code, cfg.Prefix, cfg.Postfix)
	}
	for i := range len(want) {
		if want[i] == '#' && i >= len(cfg.Prefix) && i < len(cfg.Prefix)+len(body) {
			if !strings.ContainsRune(cfg.Charset, rune(code[i])) {
				tb.Fatalf("code %q: %q at %d is not in charset %q", code, code[i], i, cfg.Charset)
			}
		} else if code[i] != want[i] {
			tb.Fatalf("code %q: %q at %d, want literal %q", code, code[i], i, want[i])
		}
	}
	for _, r := range code {
		if r <= ' ' || r > '~' || strings.ContainsRune(`/?#%\`, r) {
			tb.Fatalf("code %q has %q, not allowed in codes", code, r)
		}
	}
}

func TestDefaults(t *testing.T) {
	g := MustNew(t, codegen.Config{}, seeded(1))
	cfg := g.Config()
	if cfg.Length != 8 || cfg.Charset != codegen.Alphanumeric || cfg.Prefix != "" || cfg.Postfix != "" || cfg.Pattern != "" {
		t.Fatalf("defaults: %+v", cfg)
	}
	if got, want := g.Space(), math.Pow(62, 8); got != want {
		t.Fatalf("Space = %g, want %g", got, want)
	}
	if codegen.Alphanumeric != "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" {
		t.Fatalf("Alphanumeric = %q", codegen.Alphanumeric)
	}
	for range 100 {
		checkCode(t, cfg, MustCode(t, g))
	}

	// A pattern overrides the default length.
	g = MustNew(t, codegen.Config{Pattern: "##-##"}, seeded(1))
	if cfg := g.Config(); cfg.Length != 0 || cfg.Charset != codegen.Alphanumeric {
		t.Fatalf("defaults with pattern: %+v", cfg)
	}
	checkCode(t, g.Config(), MustCode(t, g))
}

func TestCodeGolden(t *testing.T) {
	// Bytes 0, 1, 2, … map to the charset's characters in order.
	g := MustNew(t, codegen.Config{}, &counting{})
	for _, want := range []string{"01234567", "89abcdef", "ghijklmn"} {
		if got := MustCode(t, g); got != want {
			t.Fatalf("code = %q, want %q", got, want)
		}
	}
	g = MustNew(t, codegen.Config{Charset: "AB", Prefix: "P-", Pattern: "#x#", Postfix: "-S"}, &counting{})
	for _, want := range []string{"P-AxB-S", "P-AxB-S"} {
		if got := MustCode(t, g); got != want {
			t.Fatalf("code = %q, want %q", got, want)
		}
	}
}

func TestPattern(t *testing.T) {
	tests := []struct {
		name string
		cfg  codegen.Config
	}{
		{"gift", codegen.Config{Pattern: "GIFT-####-####", Charset: codegen.Numbers}},
		{"leading and trailing random", codegen.Config{Pattern: "##A-B##", Charset: codegen.Uppercase}},
		{"only random", codegen.Config{Pattern: "####", Charset: "xyz"}},
		{"length ignored", codegen.Config{Pattern: "X#", Length: 30, Charset: "01"}},
		{"punctuation kept", codegen.Config{Pattern: "a.b_c:#+=@$!*()-#", Charset: codegen.Lowercase}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := MustNew(t, tt.cfg, seeded(2))
			for range 1000 {
				checkCode(t, g.Config(), MustCode(t, g))
			}
		})
	}

	// Every charset character shows up at a '#' position: nothing but the
	// charset, but all of it.
	g := MustNew(t, codegen.Config{Pattern: "GIFT-####-####", Charset: codegen.Numbers}, seeded(3))
	seen := map[byte]bool{}
	for range 200 {
		code := MustCode(t, g)
		for _, i := range []int{5, 6, 7, 8, 10, 11, 12, 13} {
			seen[code[i]] = true
		}
	}
	if len(seen) != 10 {
		t.Fatalf("digits seen at random positions: %d, want 10", len(seen))
	}
}

func TestPrefixPostfix(t *testing.T) {
	tests := []codegen.Config{
		{Prefix: "SUMMER-", Length: 6},
		{Postfix: "-2026", Length: 4, Charset: codegen.Uppercase},
		{Prefix: "A", Postfix: "Z", Pattern: "-##-", Charset: codegen.Numbers},
		{Prefix: "x", Postfix: "y", Length: 1, Charset: "q"},
	}
	for _, cfg := range tests {
		g := MustNew(t, cfg, seeded(4))
		for range 100 {
			checkCode(t, g.Config(), MustCode(t, g))
		}
	}
}

func TestValidate(t *testing.T) {
	valid := []codegen.Config{
		{Length: 1, Charset: "a"},
		{Length: 64, Charset: codegen.Alphanumeric},
		{Length: 8, Charset: "!$()*+-.:;<=>@[]^_`{|}~&',\"", Prefix: "A-", Postfix: "-Z"},
		{Pattern: "#", Charset: "ab"},
		{Pattern: strings.Repeat("#", 100), Charset: "ab"},
		{Pattern: "##", Length: -5, Charset: "ab"}, // pattern overrides length
		{Prefix: strings.Repeat("p", 46), Length: 8, Postfix: strings.Repeat("s", 46), Charset: "ab"},
	}
	for _, cfg := range valid {
		if err := cfg.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", cfg, err)
		}
	}

	invalid := []struct {
		name string
		cfg  codegen.Config
		want string
	}{
		{"empty charset", codegen.Config{Length: 8}, "charset is empty"},
		{"duplicate charset", codegen.Config{Length: 8, Charset: "abca"}, `charset repeats 'a'`},
		{"space in charset", codegen.Config{Length: 8, Charset: "a b"}, `charset has characters not allowed in codes: ' '`},
		{"hash in charset", codegen.Config{Length: 8, Charset: "ab#"}, `charset has characters not allowed in codes: '#'`},
		{"non-ASCII charset", codegen.Config{Length: 8, Charset: "aé"}, `charset has characters not allowed in codes: 'é'`},
		{"zero length", codegen.Config{Charset: "ab"}, "length 0 is below 1"},
		{"negative length", codegen.Config{Charset: "ab", Length: -1}, "length -1 is below 1"},
		{"long length", codegen.Config{Charset: "ab", Length: 65}, "length 65 is above 64"},
		{"pattern without hash", codegen.Config{Charset: "ab", Pattern: "GIFT"}, `pattern "GIFT" has no '#'`},
		{"slash in pattern", codegen.Config{Charset: "ab", Pattern: "A/##"}, `pattern has characters not allowed in codes: '/'`},
		{"hash in prefix", codegen.Config{Charset: "ab", Length: 4, Prefix: "#1-"}, `prefix has characters not allowed in codes: '#'`},
		{"percent in postfix", codegen.Config{Charset: "ab", Length: 4, Postfix: "%20"}, `postfix has characters not allowed in codes: '%'`},
		{"backslash in prefix", codegen.Config{Charset: "ab", Length: 4, Prefix: `a\b`}, `prefix has characters not allowed in codes: '\\'`},
		{"question mark in postfix", codegen.Config{Charset: "ab", Length: 4, Postfix: "?x"}, `postfix has characters not allowed in codes: '?'`},
		{"control character", codegen.Config{Charset: "ab", Length: 4, Prefix: "a\nb"}, `prefix has characters not allowed in codes: '\n'`},
		{"too long", codegen.Config{Charset: "ab", Length: 60, Prefix: strings.Repeat("p", 41)}, "codes would be 101 characters long"},
		{"long pattern", codegen.Config{Charset: "ab", Pattern: strings.Repeat("#", 101)}, "codes would be 101 characters long"},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate(%+v) = %v, want %q", tt.cfg, err, tt.want)
			}
			// New fills an empty charset and a zero length with defaults;
			// it fails exactly when the filled config is invalid.
			_, err = codegen.New(tt.cfg, seeded(0))
			if (err == nil) != (tt.cfg.WithDefaults().Validate() == nil) {
				t.Fatalf("New(%+v) = %v, inconsistent with Validate after defaults", tt.cfg, err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := codegen.Config{
		Length:  70,
		Charset: "aab /",
		Prefix:  "a#b",
		Postfix: strings.Repeat("z", 40) + "%",
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate = nil")
	}
	want := []string{
		`charset repeats 'a'`,
		`charset has characters not allowed in codes: ' ', '/'`,
		"length 70 is above 64",
		`prefix has characters not allowed in codes: '#'`,
		`postfix has characters not allowed in codes: '%'`,
		"codes would be 114 characters long",
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok || len(joined.Unwrap()) != len(want) {
		t.Fatalf("Validate = %v, want %d joined problems", err, len(want))
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Validate = %v, missing %q", err, w)
		}
	}

	if _, err := codegen.New(codegen.Config{Pattern: "A/B"}, seeded(0)); err == nil ||
		!strings.Contains(err.Error(), "no '#'") || !strings.Contains(err.Error(), "'/'") {
		t.Fatalf("New with a bad pattern = %v, want both pattern problems", err)
	}
}

func TestNewNilSource(t *testing.T) {
	if _, err := codegen.New(codegen.Config{}, nil); err == nil {
		t.Fatal("New with a nil source succeeded")
	}
}

func TestSpace(t *testing.T) {
	tests := []struct {
		cfg  codegen.Config
		want float64
	}{
		{codegen.Config{Charset: "01", Length: 4}, 16},
		{codegen.Config{Charset: codegen.Numbers, Pattern: "GIFT-####-####"}, 1e8},
		{codegen.Config{Charset: "abc", Length: 1, Prefix: "XX"}, 3},
		{codegen.Config{Charset: "", Length: 4}, 0},
		{codegen.Config{Charset: "ab", Length: 0}, 0},
		{codegen.Config{Charset: "ab", Pattern: "xyz"}, 0},
	}
	for _, tt := range tests {
		if got := tt.cfg.Space(); got != tt.want {
			t.Errorf("Space(%+v) = %g, want %g", tt.cfg, got, tt.want)
		}
	}
	huge := codegen.Config{Charset: codegen.Alphanumeric, Pattern: strings.Repeat("#", 100)}
	if s := huge.Space(); math.IsInf(s, 0) || s < 1e179 {
		t.Errorf("Space of 100 alphanumeric positions = %g", s)
	}
}

func TestDeterministic(t *testing.T) {
	cfg := codegen.Config{Prefix: "D-", Length: 10}
	a := MustNew(t, cfg, seeded(42))
	b := MustNew(t, cfg, seeded(42))
	c := MustNew(t, cfg, seeded(43))
	same := true
	for range 1000 {
		x, y, z := MustCode(t, a), MustCode(t, b), MustCode(t, c)
		if x != y {
			t.Fatalf("same seed gave %q and %q", x, y)
		}
		same = same && x == z
	}
	if same {
		t.Fatal("different seeds gave the same 1000 codes")
	}

	x, err := MustNew(t, cfg, seeded(7)).Batch(100, nil)
	if err != nil {
		t.Fatal(err)
	}
	y, err := MustNew(t, cfg, seeded(7)).Batch(100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x, y) {
		t.Fatal("same seed gave different batches")
	}
}

func TestUniform(t *testing.T) {
	const draws, charset = 40000, "abcd"
	g := MustNew(t, codegen.Config{Charset: charset, Length: 1}, seeded(5))
	counts := map[string]int{}
	for range draws {
		counts[MustCode(t, g)]++
	}
	expected := float64(draws) / float64(len(charset))
	var chi2 float64
	for _, c := range charset {
		n := float64(counts[string(c)])
		if math.Abs(n-expected) > 0.05*expected {
			t.Errorf("%q drawn %v times, want %v ± 5%%", c, n, expected)
		}
		chi2 += (n - expected) * (n - expected) / expected
	}
	t.Logf("counts %v, chi-square %.2f (3 degrees of freedom; 11.34 is p = 0.01)", counts, chi2)
	if chi2 > 16.27 { // p = 0.001
		t.Errorf("chi-square %.2f: draws are not uniform", chi2)
	}
}

// TestNoModuloBias feeds every byte value equally often: a modulo mapping
// would favour the first 256 % len(charset) characters; rejection sampling
// must give exactly equal counts.
func TestNoModuloBias(t *testing.T) {
	for _, charset := range []string{"abc", codegen.Numbers, codegen.Alphanumeric, "!$()*+-.:;<=>@[]^_`{|}~&',\"" + codegen.Alphanumeric} {
		accepted := 256 - 256%len(charset) // byte values used per cycle of 256
		const cycles = 5
		g := MustNew(t, codegen.Config{Charset: charset, Length: 1}, &counting{})
		counts := map[string]int{}
		for range cycles * accepted {
			counts[MustCode(t, g)]++
		}
		want := cycles * accepted / len(charset)
		for _, c := range charset {
			if counts[string(c)] != want {
				t.Fatalf("charset of %d: %q drawn %d times, want %d", len(charset), c, counts[string(c)], want)
			}
		}
	}
}

func TestBrokenSource(t *testing.T) {
	g := MustNew(t, codegen.Config{}, constant(0xFF)) // 0xFF is always rejected for 62 characters
	if _, err := g.Code(); err == nil {
		t.Fatal("Code from a source of 0xFF bytes succeeded")
	}

	failing := errors.New("entropy gone")
	g = MustNew(t, codegen.Config{}, io.MultiReader(io.LimitReader(seeded(1), 600), iotestErr{failing}))
	var err error
	for range 100 {
		if _, err = g.Code(); err != nil {
			break
		}
	}
	if !errors.Is(err, failing) || errors.Is(err, codegen.ErrSpaceTooSmall) {
		t.Fatalf("Code after the source failed = %v, want %v", err, failing)
	}
	if _, err := g.Batch(10, nil); !errors.Is(err, failing) {
		t.Fatalf("Batch after the source failed = %v, want %v", err, failing)
	}
}

type iotestErr struct{ err error }

func (r iotestErr) Read([]byte) (int, error) { return 0, r.err }

func TestBatchSpaceLimit(t *testing.T) {
	cfg := codegen.Config{Charset: "01", Length: 4} // 16 codes
	g := MustNew(t, cfg, seeded(6))
	if got := g.MaxBatch(); got != 8 {
		t.Fatalf("MaxBatch = %d, want 8", got)
	}
	for _, n := range []int{10, 9, 17, 200000} {
		codes, err := g.Batch(n, nil)
		if !errors.Is(err, codegen.ErrSpaceTooSmall) || codes != nil {
			t.Fatalf("Batch(%d) = %d codes, %v; want ErrSpaceTooSmall", n, len(codes), err)
		}
		if !strings.Contains(err.Error(), "16 distinct codes") || !strings.Contains(err.Error(), "at most 8") {
			t.Fatalf("Batch(%d) error %q does not name the space", n, err)
		}
		if err := g.Unique(n, func(string) error { t.Fatal("yield called"); return nil }); !errors.Is(err, codegen.ErrSpaceTooSmall) {
			t.Fatalf("Unique(%d) = %v, want ErrSpaceTooSmall", n, err)
		}
	}
	for range 100 { // fresh draws each time; always 8 distinct codes
		codes, err := g.Batch(8, nil)
		if err != nil {
			t.Fatalf("Batch(8): %v", err)
		}
		assertDistinct(t, codes, 8)
		for _, c := range codes {
			checkCode(t, g.Config(), c)
		}
	}
	if codes, err := g.Batch(0, nil); err != nil || len(codes) != 0 {
		t.Fatalf("Batch(0) = %v, %v", codes, err)
	}
	if _, err := g.Batch(-1, nil); err == nil || errors.Is(err, codegen.ErrSpaceTooSmall) {
		t.Fatalf("Batch(-1) = %v, want a plain error", err)
	}

	one := MustNew(t, codegen.Config{Charset: "a", Length: 3}, seeded(6)) // 1 code
	if _, err := one.Batch(1, nil); !errors.Is(err, codegen.ErrSpaceTooSmall) {
		t.Fatalf("Batch(1) from a space of 1 = %v", err)
	}
}

func TestBatchTaken(t *testing.T) {
	cfg := codegen.Config{Charset: "01", Length: 4}
	g := MustNew(t, cfg, seeded(8))
	taken := map[string]bool{"0000": true, "1111": true, "0101": true, "1010": true}
	asked := map[string]int{}
	codes, err := g.Batch(8, func(c string) bool { asked[c]++; return taken[c] })
	if err != nil {
		t.Fatal(err)
	}
	assertDistinct(t, codes, 8)
	for _, c := range codes {
		if taken[c] {
			t.Fatalf("Batch returned taken code %q", c)
		}
	}
	for c, n := range asked {
		if n != 1 {
			t.Fatalf("taken asked about %q %d times", c, n)
		}
	}

	// Everything taken: generation gives up instead of spinning.
	start := time.Now()
	_, err = g.Batch(3, func(string) bool { return true })
	if !errors.Is(err, codegen.ErrSpaceTooSmall) || !strings.Contains(err.Error(), "16 distinct codes") {
		t.Fatalf("Batch with every code taken = %v, want ErrSpaceTooSmall naming the space", err)
	}
	t.Logf("gave up in %v: %v", time.Since(start), err)
}

func TestUnique200k(t *testing.T) {
	cfg := codegen.Config{Charset: codegen.Numbers, Length: 6} // 1,000,000 codes
	g := MustNew(t, cfg, seeded(9))
	codes, err := g.Batch(200000, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertDistinct(t, codes, 200000)
	checkCode(t, g.Config(), codes[0])
	checkCode(t, g.Config(), codes[len(codes)-1])

	// A space of 2^17 cannot give 200,000 codes: a clean error, no codes.
	small := MustNew(t, codegen.Config{Charset: "01", Length: 17}, seeded(9))
	emitted := 0
	err = small.Unique(200000, func(string) error { emitted++; return nil })
	if !errors.Is(err, codegen.ErrSpaceTooSmall) || emitted != 0 {
		t.Fatalf("Unique(200000) from 131072 codes = %v after %d codes", err, emitted)
	}
	t.Log(err)
}

func TestUniqueStopsOnYieldError(t *testing.T) {
	g := MustNew(t, codegen.Config{}, seeded(10))
	stop := errors.New("disk full")
	var got []string
	err := g.Unique(100, func(c string) error {
		got = append(got, c)
		if len(got) == 5 {
			return stop
		}
		return nil
	})
	if err != stop || len(got) != 5 {
		t.Fatalf("Unique = %v after %d codes, want %v after 5", err, len(got), stop)
	}
}

func TestUniqueOrderMatchesBatch(t *testing.T) {
	cfg := codegen.Config{Charset: "abc", Length: 3}
	batch, err := MustNew(t, cfg, seeded(11)).Batch(13, nil)
	if err != nil {
		t.Fatal(err)
	}
	var streamed []string
	err = MustNew(t, cfg, seeded(11)).Unique(13, func(c string) error { streamed = append(streamed, c); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(batch, streamed) {
		t.Fatalf("Unique %v, Batch %v", streamed, batch)
	}
}

// TestUniqueLongCodes covers codes whose random part does not fit in a
// uint64 index, remembered by string instead.
func TestUniqueLongCodes(t *testing.T) {
	cfg := codegen.Config{Pattern: strings.Repeat("#", 12), Charset: codegen.Alphanumeric} // 62^12 > 2^64
	g := MustNew(t, cfg, seeded(12))
	codes, err := g.Batch(10000, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertDistinct(t, codes, 10000)

	// Half of a space of long codes: 2^16 of 2^17.
	g = MustNew(t, codegen.Config{Charset: "01", Length: 17, Prefix: strings.Repeat("p", 60)}, seeded(12))
	codes, err = g.Batch(1<<16, nil)
	if err != nil {
		t.Fatal(err)
	}
	assertDistinct(t, codes, 1<<16)
}

func TestUnique1M(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000,000 codes")
	}
	const n = 1_000_000
	g := MustNew(t, codegen.Config{Length: 8}, seeded(13))
	codes := make([]string, 0, n)
	start := time.Now()
	err := g.Unique(n, func(c string) error {
		codes = append(codes, c)
		return nil
	})
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("1,000,000 unique codes in %v", elapsed)
	assertDistinct(t, codes, n)
	checkCode(t, g.Config(), codes[n-1])
}

// assertDistinct checks independently of the generator's own bookkeeping.
func assertDistinct(tb testing.TB, codes []string, n int) {
	tb.Helper()
	if len(codes) != n {
		tb.Fatalf("%d codes, want %d", len(codes), n)
	}
	sorted := slices.Clone(codes)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			tb.Fatalf("code %q generated twice", sorted[i])
		}
	}
}

func BenchmarkUnique1M(b *testing.B) {
	const n = 1_000_000
	b.ReportAllocs()
	for b.Loop() {
		g := MustNew(b, codegen.Config{Length: 8}, rand.Reader)
		if err := g.Unique(n, func(string) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCode(b *testing.B) {
	g := MustNew(b, codegen.Config{Length: 8}, rand.Reader)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Code(); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzConfig(f *testing.F) {
	f.Add(0, "", "", "", "", uint64(0))
	f.Add(8, codegen.Alphanumeric, "SUMMER-", "-26", "", uint64(1))
	f.Add(0, codegen.Numbers, "", "", "GIFT-####-####", uint64(2))
	f.Add(4, "01", "", "", "", uint64(3))
	f.Add(65, "aab", "#", "%", "", uint64(4))
	f.Add(1, "é", "/", "?", "no-hash", uint64(5))
	f.Add(-3, "xy", "a", "b", "#", uint64(6))
	f.Fuzz(func(t *testing.T, length int, charset, prefix, postfix, pattern string, seed uint64) {
		cfg := codegen.Config{Length: length, Charset: charset, Prefix: prefix, Postfix: postfix, Pattern: pattern}
		g, err := codegen.New(cfg, seeded(seed))
		verr := cfg.WithDefaults().Validate()
		if (err == nil) != (verr == nil) {
			t.Fatalf("New = %v but Validate = %v", err, verr)
		}
		if err != nil {
			return
		}
		eff := g.Config()
		if eff != cfg.WithDefaults() {
			t.Fatalf("Config() = %+v, want %+v", eff, cfg.WithDefaults())
		}
		for range 3 {
			checkCode(t, eff, MustCode(t, g))
		}
		n := min(g.MaxBatch(), 5)
		codes, err := g.Batch(n, nil)
		if err != nil {
			t.Fatalf("Batch(%d) with space %g: %v", n, g.Space(), err)
		}
		assertDistinct(t, codes, n)
		for _, c := range codes {
			checkCode(t, eff, c)
		}
		if m := g.MaxBatch(); m < 1<<20 {
			if _, err := g.Batch(m+1, nil); !errors.Is(err, codegen.ErrSpaceTooSmall) {
				t.Fatalf("Batch(MaxBatch+1) = %v", err)
			}
		}
	})
}
