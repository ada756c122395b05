package httpapi_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// routeRegistration matches a route registration in the adapter's source:
// the srv and cli helpers of promoRoutes and insightRoutes, and direct
// a.mux.HandleFunc calls, with a literal "METHOD /path" pattern. The
// catch-all "/" has no method and is not a route of its own.
var routeRegistration = regexp.MustCompile(
	`\b(?:srv|cli|wk|a\.mux\.HandleFunc|a\.mux\.Handle)\(\s*"((?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /[^"]*)"`)

// pendingRoutes are registered routes the scenario does not reach yet, with
// the reason. TestRoutesCovered fails when one of them is covered after all.
var pendingRoutes = map[string]string{}

// registeredRoutes reads the route patterns the adapter's non-test source
// files register, and the file of each.
func registeredRoutes(tb testing.TB) map[string]string {
	tb.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		for _, m := range routeRegistration.FindAllStringSubmatch(string(src), -1) {
			if prev, dup := out[m[1]]; dup {
				tb.Errorf("%s registers %s again (first in %s)", f, m[1], prev)
			}
			out[m[1]] = f
		}
	}
	return out
}

// TestRoutesCovered keeps coveredRoutes equal to what the adapter registers:
// a new route fails here until the scenario reaches it (TestContract checks
// that every covered route answers a request successfully).
func TestRoutesCovered(t *testing.T) {
	registered := registeredRoutes(t)
	if len(registered) == 0 {
		t.Fatal("no route registration found: has the registration style changed? update routeRegistration")
	}
	routes := make([]string, 0, len(registered))
	for r := range registered {
		routes = append(routes, r)
	}
	slices.Sort(routes)
	for _, r := range routes {
		covered := slices.Contains(coveredRoutes, r)
		reason, pending := pendingRoutes[r]
		switch {
		case covered && pending:
			t.Errorf("route %s is covered and pending (%s): remove it from pendingRoutes", r, reason)
		case !covered && !pending:
			t.Errorf("route %s (registered in %s) is not in coveredRoutes: add a successful request for it to the scenario and list it", r, registered[r])
		}
	}
	for _, r := range coveredRoutes {
		if _, ok := registered[r]; !ok {
			t.Errorf("covered route %s is not registered by the adapter: remove it from coveredRoutes", r)
		}
	}
	for r := range pendingRoutes {
		if _, ok := registered[r]; !ok {
			t.Errorf("pending route %s is not registered by the adapter: remove it from pendingRoutes", r)
		}
	}
}
