// Package codegen generates voucher codes from a Voucherify-style code
// config: a length or a pattern of random characters drawn from a charset,
// between a fixed prefix and postfix.
//
// Randomness comes from an io.Reader (crypto/rand.Reader in production) and is
// mapped to charset characters by rejection sampling, so every character is
// equally likely whatever the charset's size.
package codegen

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// Charsets offered by Voucherify's dashboard.
const (
	Alphanumeric = Numbers + Lowercase + Uppercase
	Alphabetic   = Lowercase + Uppercase
	Lowercase    = "abcdefghijklmnopqrstuvwxyz"
	Uppercase    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	Numbers      = "0123456789"
)

// Limits and defaults of a Config.
const (
	DefaultLength  = 8            // random characters when neither Length nor Pattern is set
	DefaultCharset = Alphanumeric // charset when Charset is empty
	MaxLength      = 64           // largest Length; longer codes need a Pattern
	MaxCodeLength  = 100          // prefix, random part and postfix together
	Placeholder    = '#'          // the pattern character replaced by a random one
)

// ErrSpaceTooSmall is wrapped by the errors of Batch and Unique when the
// config cannot produce the codes asked for: more than half of its Space, or
// so many draws already taken that generation gave up. It is the caller's
// fault (HTTP 400), unlike a failing random source.
var ErrSpaceTooSmall = errors.New("code space too small")

// Config mirrors Voucherify's code_config. The zero value of a field means
// "default" only to New and WithDefaults; Validate and Space take the config
// literally.
type Config struct {
	// Length is the number of random characters, excluding prefix and
	// postfix. Ignored when Pattern is set.
	Length int
	// Charset holds the characters random positions are drawn from, each
	// once.
	Charset string
	// Prefix and Postfix are copied literally around the generated part.
	Prefix, Postfix string
	// Pattern, when set, is the generated part: each '#' becomes a random
	// charset character, every other character is kept, e.g. "GIFT-####-####".
	Pattern string
}

// WithDefaults returns c with an empty Charset set to DefaultCharset and, when
// there is no Pattern, a zero Length set to DefaultLength.
func (c Config) WithDefaults() Config {
	if c.Charset == "" {
		c.Charset = DefaultCharset
	}
	if c.Pattern == "" && c.Length == 0 {
		c.Length = DefaultLength
	}
	return c
}

// Validate reports every problem of c at once, joined with errors.Join, or
// nil. Messages name the fields by their JSON names and are safe to show to
// clients. Codes travel in URL paths, so every character of a code must be
// printable ASCII other than space, '/', '?', '#', '%' and '\'.
func (c Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	switch dups := duplicates(c.Charset); {
	case c.Charset == "":
		add("charset is empty")
	case len(dups) > 0:
		add("charset repeats %s", quoteAll(dups))
	}
	if bad := disallowed(c.Charset, false); len(bad) > 0 {
		add("charset has characters not allowed in codes: %s", quoteAll(bad))
	}
	if c.Pattern == "" {
		if c.Length < 1 {
			add("length %d is below 1", c.Length)
		} else if c.Length > MaxLength {
			add("length %d is above %d; use a pattern for longer codes", c.Length, MaxLength)
		}
	} else {
		if !strings.ContainsRune(c.Pattern, Placeholder) {
			add("pattern %q has no '#' to replace with a random character", c.Pattern)
		}
		if bad := disallowed(c.Pattern, true); len(bad) > 0 {
			add("pattern has characters not allowed in codes: %s", quoteAll(bad))
		}
	}
	if bad := disallowed(c.Prefix, false); len(bad) > 0 {
		add("prefix has characters not allowed in codes: %s", quoteAll(bad))
	}
	if bad := disallowed(c.Postfix, false); len(bad) > 0 {
		add("postfix has characters not allowed in codes: %s", quoteAll(bad))
	}
	if n := c.codeLength(); n > MaxCodeLength {
		add("codes would be %d characters long with prefix and postfix; the limit is %d", n, MaxCodeLength)
	}
	return errors.Join(errs...)
}

// Space returns the number of distinct codes c can produce: the number of
// distinct charset characters raised to the number of random positions, or 0
// when there are none. Large spaces are approximate (float64); none
// overflows to +Inf within the limits Validate enforces.
func (c Config) Space() float64 {
	m, k := c.alphabetSize(), c.randomPositions()
	if m == 0 || k < 1 {
		return 0
	}
	return math.Pow(float64(m), float64(k))
}

// randomPositions is the number of random characters in a code.
func (c Config) randomPositions() int {
	if c.Pattern != "" {
		return strings.Count(c.Pattern, string(Placeholder))
	}
	return c.Length
}

// alphabetSize counts the distinct characters of the charset.
func (c Config) alphabetSize() int {
	seen := make(map[rune]bool, len(c.Charset))
	for _, r := range c.Charset {
		seen[r] = true
	}
	return len(seen)
}

// codeLength is the length in bytes of every code c produces.
func (c Config) codeLength() int {
	n := len(c.Prefix) + len(c.Postfix)
	if c.Pattern != "" {
		return n + len(c.Pattern)
	}
	return n + max(c.Length, 0)
}

// allowedInCode reports whether r may appear in a code.
func allowedInCode(r rune) bool {
	if r <= ' ' || r > '~' {
		return false // space, control characters and non-ASCII
	}
	switch r {
	case '/', '?', '#', '%', '\\':
		return false
	}
	return true
}

// disallowed returns the characters of s, each once, that may not appear in
// a code; placeholder tells whether '#' is allowed as a pattern placeholder.
func disallowed(s string, placeholder bool) []rune {
	var bad []rune
	for _, r := range s {
		if (placeholder && r == Placeholder) || allowedInCode(r) {
			continue
		}
		if !containsRune(bad, r) {
			bad = append(bad, r)
		}
	}
	return bad
}

// duplicates returns the characters that occur more than once in s, each once.
func duplicates(s string) []rune {
	seen := make(map[rune]bool, len(s))
	var dups []rune
	for _, r := range s {
		if seen[r] && !containsRune(dups, r) {
			dups = append(dups, r)
		}
		seen[r] = true
	}
	return dups
}

func containsRune(rs []rune, r rune) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func quoteAll(rs []rune) string {
	q := make([]string, len(rs))
	for i, r := range rs {
		q[i] = strconv.QuoteRune(r)
	}
	return strings.Join(q, ", ")
}

// bufSize is how many random bytes a Generator reads at a time: small enough
// that a generator made for one code reads little, large enough that a
// million codes take a few thousand reads.
const bufSize = 512

// maxRejectedBytes bounds consecutive random bytes rejected by sampling.
// With a valid charset at most 33% of bytes are rejected, so a longer run
// means the source is broken (e.g. returns only 0xFF), not unlucky.
const maxRejectedBytes = 1024

// Generator draws codes for one Config.
//
// A Generator is not safe for concurrent use: it buffers random bytes and
// reuses a scratch buffer. Give each goroutine its own; New is cheap.
type Generator struct {
	cfg      Config
	charset  string // ASCII, each character once (Validate guarantees both)
	accept   int    // random bytes below accept map to a character without bias
	template []byte // prefix, pattern (or Length placeholders) and postfix
	slots    []int  // indexes of template filled with random characters
	space    float64
	packed   bool // every random part has a distinct uint64 index
	src      io.Reader
	buf      []byte // random bytes read from src; buf[pos:] are unused
	pos      int
	scratch  []byte
}

// New returns a Generator for cfg with defaults applied (see WithDefaults).
// It returns the error of Validate when the config is invalid, and an error
// when src is nil. src is crypto/rand.Reader in production; tests pass a
// deterministic reader.
func New(cfg Config, src io.Reader) (*Generator, error) {
	if src == nil {
		return nil, errors.New("codegen: nil random source")
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{
		cfg:     cfg,
		charset: cfg.Charset,
		accept:  256 - 256%len(cfg.Charset),
		space:   cfg.Space(),
		src:     src,
		buf:     make([]byte, bufSize),
		pos:     bufSize,
	}
	g.template, g.slots = layout(cfg)
	g.scratch = make([]byte, len(g.template))
	g.packed = fitsUint64(len(cfg.Charset), len(g.slots))
	return g, nil
}

// layout returns the bytes every code starts from and the indexes of its
// random characters.
func layout(cfg Config) (template []byte, slots []int) {
	body := cfg.Pattern
	if body == "" {
		body = strings.Repeat(string(Placeholder), cfg.Length)
	}
	template = []byte(cfg.Prefix + body + cfg.Postfix)
	for i := range len(body) {
		if body[i] == Placeholder {
			slots = append(slots, len(cfg.Prefix)+i)
		}
	}
	return template, slots
}

// fitsUint64 reports whether m^k distinct values fit in a uint64.
func fitsUint64(m, k int) bool {
	p := uint64(1)
	for range k {
		hi, lo := bits.Mul64(p, uint64(m))
		if hi != 0 {
			return false
		}
		p = lo
	}
	return true
}

// Config returns the generator's config, defaults applied.
func (g *Generator) Config() Config { return g.cfg }

// Space returns the number of distinct codes the generator can produce.
func (g *Generator) Space() float64 { return g.space }

// Code returns one random code. Each random position is uniform over the
// charset, independently of the others. It fails only when the random source
// does.
func (g *Generator) Code() (string, error) {
	code, _, err := g.next()
	return code, err
}

// next returns a code and the index of its random part (meaningful only when
// g.packed).
func (g *Generator) next() (string, uint64, error) {
	copy(g.scratch, g.template)
	m := uint64(len(g.charset))
	var index uint64
	for _, i := range g.slots {
		d, err := g.digit()
		if err != nil {
			return "", 0, err
		}
		g.scratch[i] = g.charset[d]
		index = index*m + uint64(d)
	}
	return string(g.scratch), index, nil
}

// digit returns a uniform random index into the charset. Bytes at or above
// g.accept are rejected: taking them modulo the charset size would favour
// the first 256%len(charset) characters.
func (g *Generator) digit() (int, error) {
	for range maxRejectedBytes {
		if g.pos == len(g.buf) {
			if err := g.refill(); err != nil {
				return 0, err
			}
		}
		b := int(g.buf[g.pos])
		g.pos++
		if b < g.accept {
			return b % len(g.charset), nil
		}
	}
	return 0, fmt.Errorf("codegen: random source rejected %d bytes in a row; it is not random", maxRejectedBytes)
}

func (g *Generator) refill() error {
	if _, err := io.ReadFull(g.src, g.buf); err != nil {
		return fmt.Errorf("codegen: read random source: %w", err)
	}
	g.pos = 0
	return nil
}

// Batch returns n codes distinct from each other and from every code taken
// reports as used (taken may be nil). taken is called at most once per
// distinct code drawn.
//
// Batch fails with an error wrapping ErrSpaceTooSmall, which names the
// config's space, when n exceeds MaxBatch or when taken rejects so many draws
// that the space is nearly used up. Any other error comes from the random
// source. On error no codes are returned.
func (g *Generator) Batch(n int, taken func(string) bool) ([]string, error) {
	codes := make([]string, 0, min(max(n, 0), prealloc))
	err := g.unique(n, taken, func(code string) error {
		codes = append(codes, code)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// Unique calls yield with n distinct codes, one at a time, and stops at the
// first error yield returns, returning that error unchanged. It remembers
// what it emitted but keeps no list, so it suits large runs that write codes
// out as they come: about 37 bytes a code while it runs when the random part
// has a 64-bit index (e.g. up to 10 alphanumeric characters), else about 55
// bytes plus the code. It fails like Batch when n exceeds MaxBatch.
func (g *Generator) Unique(n int, yield func(code string) error) error {
	return g.unique(n, nil, yield)
}

// MaxBatch returns the most codes Batch and Unique produce in one call: half
// of Space. Beyond it, collisions would make generation crawl.
func (g *Generator) MaxBatch() int {
	half := math.Floor(g.space / 2)
	if half >= math.MaxInt {
		return math.MaxInt
	}
	return int(half)
}

// prealloc caps the capacity reserved up front, so that a huge n fails or
// grows gradually rather than reserving memory at once.
const prealloc = 1 << 20

func (g *Generator) unique(n int, taken func(string) bool, yield func(string) error) error {
	if n < 0 {
		return fmt.Errorf("codegen: negative code count %d", n)
	}
	if n > g.MaxBatch() {
		return fmt.Errorf("%w: %d codes requested, but %s; at most %d can be generated at once",
			ErrSpaceTooSmall, n, g.describeSpace(), g.MaxBatch())
	}
	seen := newSeenSet(g.packed, min(n, prealloc))
	// Without taken, n ≤ Space/2 needs on average fewer than 0.4·n repeated
	// draws, so this bound only trips when taken crowds the space.
	maxRejects := 10*n + 1000
	for emitted, rejects := 0, 0; emitted < n; {
		code, index, err := g.next()
		if err != nil {
			return err
		}
		// A taken code stays in seen: it is never wanted, and taken is not
		// asked about it twice.
		if !seen.add(code, index) || (taken != nil && taken(code)) {
			if rejects++; rejects > maxRejects {
				return fmt.Errorf("%w: gave up after %d draws that repeated or hit taken codes; %s",
					ErrSpaceTooSmall, rejects, g.describeSpace())
			}
			continue
		}
		if err := yield(code); err != nil {
			return err
		}
		emitted++
	}
	return nil
}

func (g *Generator) describeSpace() string {
	return fmt.Sprintf("%d charset characters in %d random positions give %s distinct codes",
		len(g.charset), len(g.slots), formatCount(g.space))
}

func formatCount(f float64) string {
	if f < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

// seenSet remembers emitted codes: by the uint64 index of their random part
// when it fits (8 bytes a code, no string kept alive), else by the code.
type seenSet struct {
	indexes map[uint64]struct{}
	codes   map[string]struct{}
}

func newSeenSet(packed bool, hint int) seenSet {
	if packed {
		return seenSet{indexes: make(map[uint64]struct{}, hint)}
	}
	return seenSet{codes: make(map[string]struct{}, hint)}
}

// add records a code and reports whether it was new.
func (s seenSet) add(code string, index uint64) bool {
	if s.indexes != nil {
		n := len(s.indexes)
		s.indexes[index] = struct{}{}
		return len(s.indexes) > n
	}
	n := len(s.codes)
	s.codes[code] = struct{}{}
	return len(s.codes) > n
}

// ValidCode reports whether code may be stored as a code, generated or not:
// 1 to MaxCodeLength printable ASCII characters, none of space / ? # % \
// (codes travel in URL paths). It is the one rule for every code.
func ValidCode(code string) error {
	if code == "" || len(code) > MaxCodeLength {
		return fmt.Errorf("code must be 1 to %d characters", MaxCodeLength)
	}
	for _, r := range code {
		if !allowedInCode(r) {
			return fmt.Errorf("code %q contains %q: use printable ASCII without space / ? # %% \\", code, r)
		}
	}
	return nil
}
