package rules

import (
	"strings"
	"testing"
)

func TestParseLogic(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1", "1"},
		{" 12 ", "12"},
		{"1 and 2", "(1 and 2)"},
		{"1 AND 2 Or 3", "((1 and 2) or 3)"},
		{"1 or 2 and 3", "(1 or (2 and 3))"},
		{"(1 and 2) or 3", "((1 and 2) or 3)"},
		{"(1 and 2) and (3)", "((1 and 2) and 3)"},
		{"1 and (2 or 3)", "(1 and (2 or 3))"},
		{"1 or 2 or 3", "((1 or 2) or 3)"},
		{"not 1 and 2", "(not 1 and 2)"},
		{"not (1 and 2)", "not (1 and 2)"},
		{"not not 1", "not not 1"},
		{"((((1))))", "1"},
		{"1and(2)", "(1 and 2)"},
		{"007", "7"},
	} {
		n, err := parseLogic(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := n.String(); got != tc.want {
			t.Errorf("%q parsed as %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestParseLogicErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1 and", "unexpected end"},
		{"and 1", `unexpected "and" at column 1`},
		{"(1 and 2", "missing ) for ( at column 1"},
		{"1 and 2)", `unexpected ")" at column 8`},
		{"1 2", `unexpected "2" at column 3`},
		{"1 && 2", `unexpected "&" at column 3`},
		{"1 xor 2", `unexpected "xor" at column 3`},
		{"0", "is not a condition number"},
		{"1 or 9999999", "is not a condition number"},
		{"()", `unexpected ")"`},
		{"not", "unexpected end"},
		{strings.Repeat("(", 60) + "1" + strings.Repeat(")", 60), "nested deeper than 50 levels"},
		{strings.Repeat("not ", 60) + "1", "nested deeper than 50 levels"},
		{strings.Repeat("1 and ", 1000) + "1", "longer than 4096 characters"},
	} {
		_, err := parseLogic(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestLogicEmpty(t *testing.T) {
	for _, in := range []string{"", "   ", "\t\n"} {
		if n, err := parseLogic(in); n != nil || err != nil {
			t.Errorf("%q: %v %v", in, n, err)
		}
	}
}

func TestLogicNumbers(t *testing.T) {
	n, err := parseLogic("(3 and 1) or not 3 or 10")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(n.numbers(), ","); got != "3,1,10" {
		t.Errorf("numbers %s", got)
	}
}
