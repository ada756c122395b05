package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// The logic string joins condition numbers with and, or, not and
// parentheses. This small parser exists only for that boolean language: a
// general expression engine would accept far more than Voucherify's logic
// and still need the numbers rewritten and checked.

// node is a parsed logic expression.
type node struct {
	op   byte   // 'n' number, '&' and, '|' or, '!' not
	num  string // for 'n': the canonical condition number
	l, r *node  // operands; not uses l
}

// Limits that keep hostile input from exhausting the stack: nesting of
// parentheses and "not", and the length of the string (which bounds the
// depth of chained "and"s).
const (
	maxLogicDepth = 50
	maxLogicLen   = 4096
)

type token struct {
	kind byte // 'n' number, '(' , ')', '&', '|', '!', 0 end
	text string
	pos  int // 1-based column, for messages
}

func tokenize(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, token{kind: c, text: string(c), pos: i + 1})
			i++
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			n, err := strconv.Atoi(s[i:j])
			if err != nil || n == 0 || n > 999999 {
				return nil, fmt.Errorf("%q at column %d is not a condition number", s[i:j], i+1)
			}
			toks = append(toks, token{kind: 'n', text: strconv.Itoa(n), pos: i + 1})
			i = j
		case isLetter(c):
			j := i
			for j < len(s) && (isLetter(s[j]) || s[j] >= '0' && s[j] <= '9' || s[j] == '_') {
				j++
			}
			word := s[i:j]
			switch strings.ToLower(word) {
			case "and":
				toks = append(toks, token{kind: '&', text: word, pos: i + 1})
			case "or":
				toks = append(toks, token{kind: '|', text: word, pos: i + 1})
			case "not":
				toks = append(toks, token{kind: '!', text: word, pos: i + 1})
			default:
				return nil, fmt.Errorf("unexpected %q at column %d (want a number, and, or, not or parentheses)", word, i+1)
			}
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q at column %d (want a number, and, or, not or parentheses)", string(rune(c)), i+1)
		}
	}
	return append(toks, token{pos: len(s) + 1}), nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

type logicParser struct {
	toks  []token
	i     int
	depth int
}

// parseLogic parses a logic string; the empty string has no expression.
func parseLogic(s string) (*node, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > maxLogicLen {
		return nil, fmt.Errorf("longer than %d characters", maxLogicLen)
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &logicParser{toks: toks}
	n, err := p.expr(1)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != 0 {
		return nil, fmt.Errorf("unexpected %q at column %d", t.text, t.pos)
	}
	return n, nil
}

func (p *logicParser) peek() token { return p.toks[p.i] }
func (p *logicParser) next() token { t := p.toks[p.i]; p.i++; return t }

// precedence of the binary operators: and binds tighter than or.
func precedence(kind byte) int {
	switch kind {
	case '|':
		return 1
	case '&':
		return 2
	}
	return 0
}

// expr parses operands joined by operators of at least precedence min
// (precedence climbing; both operators are left-associative).
func (p *logicParser) expr(min int) (*node, error) {
	lhs, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek().kind
		prec := precedence(op)
		if prec == 0 || prec < min {
			return lhs, nil
		}
		p.next()
		rhs, err := p.expr(prec + 1)
		if err != nil {
			return nil, err
		}
		lhs = &node{op: op, l: lhs, r: rhs}
	}
}

func (p *logicParser) unary() (*node, error) {
	t := p.next()
	switch t.kind {
	case 'n':
		return &node{op: 'n', num: t.text}, nil
	case '!', '(':
		if p.depth++; p.depth > maxLogicDepth {
			return nil, fmt.Errorf("nested deeper than %d levels", maxLogicDepth)
		}
		defer func() { p.depth-- }()
		if t.kind == '!' {
			operand, err := p.unary()
			if err != nil {
				return nil, err
			}
			return &node{op: '!', l: operand}, nil
		}
		inner, err := p.expr(1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != ')' {
			return nil, fmt.Errorf("missing ) for ( at column %d", t.pos)
		}
		return inner, nil
	case 0:
		return nil, fmt.Errorf("unexpected end (want a number, not or parentheses)")
	}
	return nil, fmt.Errorf("unexpected %q at column %d", t.text, t.pos)
}

// numbers returns the condition numbers the expression names, each once, in
// order of appearance.
func (n *node) numbers() []string {
	var out []string
	seen := map[string]bool{}
	var walk func(*node)
	walk = func(n *node) {
		if n == nil {
			return
		}
		if n.op == 'n' {
			if !seen[n.num] {
				seen[n.num] = true
				out = append(out, n.num)
			}
			return
		}
		walk(n.l)
		walk(n.r)
	}
	walk(n)
	return out
}

// String writes the expression back with full parentheses (for tests).
func (n *node) String() string {
	switch n.op {
	case 'n':
		return n.num
	case '!':
		return "not " + n.l.String()
	case '&':
		return "(" + n.l.String() + " and " + n.r.String() + ")"
	}
	return "(" + n.l.String() + " or " + n.r.String() + ")"
}

// leafFunc evaluates one condition: nil when it holds.
type leafFunc func(num string) *Failure

// eval reports whether the expression holds and, when it does not, the
// failure to blame: the first failing operand of an "and", the first
// operand of an "or" (all failed), and for "not x" the reason x holds.
func (n *node) eval(leaf leafFunc, negated func(num string) *Failure) (bool, *Failure) {
	switch n.op {
	case 'n':
		f := leaf(n.num)
		return f == nil, f
	case '&':
		if ok, f := n.l.eval(leaf, negated); !ok {
			return false, f
		}
		return n.r.eval(leaf, negated)
	case '|':
		ok, first := n.l.eval(leaf, negated)
		if ok {
			return true, nil
		}
		if ok, _ := n.r.eval(leaf, negated); ok {
			return true, nil
		}
		return false, first
	}
	if ok, _ := n.l.eval(leaf, negated); !ok {
		return true, nil
	}
	return false, n.l.whyHolds(leaf, negated)
}

// whyHolds blames an expression that holds where it must not (under "not"):
// a condition that held gets a negation failure; "not x" holds because x
// failed, so x's own failure is the reason.
func (n *node) whyHolds(leaf leafFunc, negated func(num string) *Failure) *Failure {
	switch n.op {
	case 'n':
		return negated(n.num)
	case '!':
		_, f := n.l.eval(leaf, negated)
		return f
	case '&':
		return n.l.whyHolds(leaf, negated)
	}
	if ok, _ := n.l.eval(leaf, negated); ok {
		return n.l.whyHolds(leaf, negated)
	}
	return n.r.whyHolds(leaf, negated)
}
