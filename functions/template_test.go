package functions_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/global"
	"github.com/awslabs/goformation/v7/cloudformation/policies"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// The table layout infra/dynamo reads and writes (see its package doc and
// ensureTable). Literal strings on purpose: the test must fail when either
// side drifts, not follow one side along.
const (
	tableLogicalID   = "Table"
	partitionKey     = "pk"
	sortKey          = "sk"
	ttlAttribute     = "ttl"
	streamViewType   = "NEW_IMAGE"
	billingMode      = "PAY_PER_REQUEST"
	wantRuntime      = "provided.al2023"
	wantArchitecture = "arm64"
	wantHandler      = "bootstrap"
	wantBuildMethod  = "go1.x"
	apiFunctionID    = "ApiFunction"
	samTransform     = "AWS::Serverless-2016-10-31"
	implicitHTTPAPI  = "ServerlessHttpApi" // the API SAM creates for HttpApi events without ApiId
)

// repoRoot is where template.yaml lives and what its CodeUri paths are
// relative to; go test runs in this package's directory.
const repoRoot = ".."

func TestTemplate(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatalf("read template: %v", err)
	}
	for _, p := range templateProblems(t, src) {
		t.Error(p)
	}
}

// TestTemplateChecksCatchDrift proves the checks above can fail: each
// mutation of the real template is one drift from infra/dynamo or from the
// build layout, and must be reported.
func TestTemplateChecksCatchDrift(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatalf("read template: %v", err)
	}
	tests := []struct {
		name, old, new string
		want           string // a substring of one reported problem
	}{
		{"TTL attribute renamed", "AttributeName: ttl", "AttributeName: expires", "TTL"},
		{"stream view changed", "StreamViewType: NEW_IMAGE", "StreamViewType: NEW_AND_OLD_IMAGES", "stream"},
		{"provisioned capacity", "BillingMode: PAY_PER_REQUEST", "BillingMode: PROVISIONED", "billing mode"},
		{"sort key renamed", "AttributeName: sk\n          KeyType: RANGE", "AttributeName: sort\n          KeyType: RANGE", "key schema"},
		{"sort key typed as number", "AttributeName: sk\n          AttributeType: S", "AttributeName: sk\n          AttributeType: N", "attribute definitions"},
		{"point-in-time recovery off", "PointInTimeRecoveryEnabled: true", "PointInTimeRecoveryEnabled: false", "point-in-time"},
		{"x86 functions", "- arm64", "- x86_64", "architectures"},
		{"older runtime", "Runtime: provided.al2023", "Runtime: provided.al2", "runtime"},
		{"code elsewhere", "CodeUri: functions/api", "CodeUri: functions/nowhere", "CodeUri"},
		{"table not referenced", "PROMORELAY_DYNAMO_TABLE: !Ref Table", "PROMORELAY_DYNAMO_TABLE: promorelay", "PROMORELAY_DYNAMO_TABLE"},
		{"payload format 1.0", `PayloadFormatVersion: "2.0"`, `PayloadFormatVersion: "1.0"`, "payload"},
		{"table deleted with the stack", "DeletionPolicy: Retain", "DeletionPolicy: Delete", "DeletionPolicy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(string(src), tt.old) {
				t.Fatalf("template.yaml no longer contains %q: update this mutation", tt.old)
			}
			mutated := strings.Replace(string(src), tt.old, tt.new, 1)
			problems := templateProblems(t, []byte(mutated))
			for _, p := range problems {
				if strings.Contains(p, tt.want) {
					return
				}
			}
			t.Errorf("no problem mentioning %q reported; got %q", tt.want, problems)
		})
	}
}

// templateProblems parses a SAM template and lists every way it departs
// from what infra/dynamo and the functions/ layout need.
func templateProblems(t *testing.T, src []byte) []string {
	t.Helper()
	tpl, err := goformation.ParseYAMLWithOptions(src, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":     keepRef,
			"Fn::Sub": keepSub,
		},
	})
	if err != nil {
		t.Fatalf("parse template: %v", err)
	}
	var problems []string
	if tpl.Transform == nil || tpl.Transform.String == nil || *tpl.Transform.String != samTransform {
		problems = append(problems, "Transform is not "+samTransform)
	}
	problems = append(problems, tableProblems(tpl)...)
	problems = append(problems, functionProblems(tpl)...)
	problems = append(problems, apiFunctionProblems(tpl)...)
	problems = append(problems, outputProblems(tpl)...)
	return problems
}

// keepRef keeps a reference to a template resource visible as "!Ref Name"
// (goformation would resolve it to nil, as it resolves only parameters).
func keepRef(name string, input, template any) any {
	if id, ok := input.(string); ok {
		if tpl, ok := template.(map[string]any); ok {
			if resources, ok := tpl["Resources"].(map[string]any); ok {
				if _, ok := resources[id]; ok {
					return refTo(id)
				}
			}
		}
	}
	return intrinsics.Ref(name, input, template)
}

// keepSub leaves a plain Fn::Sub string as written, so outputs can be
// checked for the names they substitute.
func keepSub(name string, input, template any) any {
	if s, ok := input.(string); ok {
		return s
	}
	return intrinsics.FnSub(name, input, template)
}

func refTo(id string) string { return "!Ref " + id }

func tableProblems(tpl *cloudformation.Template) []string {
	tables := tpl.GetAllDynamoDBTableResources()
	if len(tables) != 1 {
		return []string{fmt.Sprintf("want exactly one DynamoDB table (single-table design), found %d", len(tables))}
	}
	table, ok := tables[tableLogicalID]
	if !ok {
		return []string{fmt.Sprintf("the DynamoDB table must have the logical ID %q (functions reference it)", tableLogicalID)}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	var keys []string
	for _, k := range table.KeySchema {
		keys = append(keys, k.AttributeName+" "+k.KeyType)
	}
	if want := []string{partitionKey + " HASH", sortKey + " RANGE"}; !slices.Equal(keys, want) {
		add("table key schema is %q, want %q", keys, want)
	}
	// Only key attributes may be declared; their order does not matter.
	var defs []string
	for _, d := range table.AttributeDefinitions {
		defs = append(defs, d.AttributeName+" "+d.AttributeType)
	}
	sort.Strings(defs)
	if want := []string{partitionKey + " S", sortKey + " S"}; !slices.Equal(defs, want) {
		add("table attribute definitions are %q, want %q", defs, want)
	}
	if got := deref(table.BillingMode); got != billingMode {
		add("table billing mode is %q, want %q (on demand)", got, billingMode)
	}
	if table.ProvisionedThroughput != nil {
		add("table has ProvisionedThroughput; it is on demand")
	}
	if len(table.GlobalSecondaryIndexes) > 0 || len(table.LocalSecondaryIndexes) > 0 {
		add("table has secondary indexes; infra/dynamo writes its own index items instead")
	}
	if ttl := table.TimeToLiveSpecification; ttl == nil {
		add("table has no TTL; want it enabled on %q", ttlAttribute)
	} else if !ttl.Enabled || deref(ttl.AttributeName) != ttlAttribute {
		add("table TTL is on %q (enabled %t), want enabled on %q", deref(ttl.AttributeName), ttl.Enabled, ttlAttribute)
	}
	if s := table.StreamSpecification; s == nil {
		add("table has no stream; want view type %s (the outbox relay reads new images)", streamViewType)
	} else if s.StreamViewType != streamViewType {
		add("table stream view type is %s, want %s (the outbox relay reads new images)", s.StreamViewType, streamViewType)
	}
	if p := table.PointInTimeRecoverySpecification; p == nil || p.PointInTimeRecoveryEnabled == nil || !*p.PointInTimeRecoveryEnabled {
		add("table point-in-time recovery must be on")
	}
	if s := table.SSESpecification; s == nil || !s.SSEEnabled {
		add("table server-side encryption must be on")
	}
	if table.AWSCloudFormationDeletionPolicy != policies.DeletionPolicy("Retain") ||
		table.AWSCloudFormationUpdateReplacePolicy != policies.UpdateReplacePolicy("Retain") {
		add("table DeletionPolicy and UpdateReplacePolicy must be Retain: it holds balances and redemptions")
	}
	return problems
}

func functionProblems(tpl *cloudformation.Template) []string {
	functions := tpl.GetAllServerlessFunctionResources()
	if len(functions) == 0 {
		return []string{"template has no AWS::Serverless::Function"}
	}
	globals, _ := tpl.GetServerlessGlobalFunction() // nil when absent
	var problems []string
	for _, id := range slices.Sorted(maps.Keys(functions)) {
		fn := functions[id]
		add := func(format string, args ...any) {
			problems = append(problems, id+": "+fmt.Sprintf(format, args...))
		}
		eff := effective(fn, globals)
		if eff.runtime != wantRuntime {
			add("runtime is %q, want %q", eff.runtime, wantRuntime)
		}
		if !slices.Equal(eff.architectures, []string{wantArchitecture}) {
			add("architectures are %q, want [%s]", eff.architectures, wantArchitecture)
		}
		if eff.handler != wantHandler {
			add("handler is %q, want %q", eff.handler, wantHandler)
		}
		if got, _ := fn.AWSCloudFormationMetadata["BuildMethod"].(string); got != wantBuildMethod {
			add("Metadata.BuildMethod is %q, want %q (sam build compiles functions/<name> into bootstrap)", got, wantBuildMethod)
		}
		if fn.CodeUri == nil || fn.CodeUri.String == nil {
			add("CodeUri must be a directory of this repository")
			continue
		}
		if err := checkMainPackage(filepath.Join(repoRoot, filepath.FromSlash(*fn.CodeUri.String))); err != nil {
			add("CodeUri %s: %v", *fn.CodeUri.String, err)
		}
	}
	return problems
}

// checkMainPackage reports whether dir holds a main.go of package main.
func checkMainPackage(dir string) error {
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, "main.go"), nil, parser.PackageClauseOnly)
	if err != nil {
		return err
	}
	if f.Name.Name != "main" {
		return fmt.Errorf("main.go is package %s, want main", f.Name.Name)
	}
	return nil
}

func apiFunctionProblems(tpl *cloudformation.Template) []string {
	fn, err := tpl.GetServerlessFunctionWithName(apiFunctionID)
	if err != nil {
		return []string{fmt.Sprintf("no %s: %v", apiFunctionID, err)}
	}
	globals, _ := tpl.GetServerlessGlobalFunction()
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, apiFunctionID+": "+fmt.Sprintf(format, args...))
	}
	if fn.CodeUri == nil || deref(fn.CodeUri.String) != "functions/api" {
		add("CodeUri must be functions/api")
	}
	env := effective(fn, globals).environment
	if got := env["PROMORELAY_STORE"]; got != "dynamo" {
		add("PROMORELAY_STORE is %q, want dynamo", got)
	}
	if got := env["PROMORELAY_DYNAMO_TABLE"]; got != refTo(tableLogicalID) {
		add("PROMORELAY_DYNAMO_TABLE is %q, want %q", got, refTo(tableLogicalID))
	}
	for _, name := range []string{"PROMORELAY_DYNAMO_ENDPOINT", "PROMORELAY_DYNAMO_CREATE_TABLE"} {
		if _, ok := env[name]; ok {
			add("%s is for local development only", name)
		}
	}
	if !grantsCrud(fn, refTo(tableLogicalID)) {
		add("Policies must include DynamoDBCrudPolicy on %s", refTo(tableLogicalID))
	}
	if deref(fn.MemorySize) != 256 || deref(fn.Timeout) != 10 {
		add("MemorySize/Timeout are %d/%d, want 256/10", deref(fn.MemorySize), deref(fn.Timeout))
	}
	var routes []string
	for _, name := range slices.Sorted(maps.Keys(fn.Events)) {
		ev := fn.Events[name]
		if ev.Type != "HttpApi" || ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
			continue
		}
		h := ev.Properties.HttpApiEvent
		routes = append(routes, deref(h.Method)+" "+deref(h.Path))
		if h.ApiId != nil {
			add("HttpApi event %s names an ApiId; the ApiUrl output assumes the implicit %s", name, implicitHTTPAPI)
		}
		// SAM's default is 2.0 too, but the handler decodes nothing else,
		// so the template says it.
		if got := deref(h.PayloadFormatVersion); got != "2.0" {
			add("HttpApi event %s payload format is %q, want \"2.0\"", name, got)
		}
	}
	if !slices.Equal(routes, []string{"ANY /{proxy+}"}) {
		add("HttpApi routes are %q, want [ANY /{proxy+}]", routes)
	}
	return problems
}

func grantsCrud(fn *serverless.Function, table string) bool {
	if fn.Policies == nil || fn.Policies.SAMPolicyTemplateArray == nil {
		return false
	}
	for _, p := range *fn.Policies.SAMPolicyTemplateArray {
		if p.DynamoDBCrudPolicy != nil && p.DynamoDBCrudPolicy.TableName == table {
			return true
		}
	}
	return false
}

func outputProblems(tpl *cloudformation.Template) []string {
	var problems []string
	if url, _ := tpl.Outputs["ApiUrl"].Value.(string); !strings.Contains(url, "${"+implicitHTTPAPI+"}") {
		problems = append(problems, fmt.Sprintf("output ApiUrl is %q, want the URL of ${%s}", url, implicitHTTPAPI))
	}
	if name, _ := tpl.Outputs["TableName"].Value.(string); name != refTo(tableLogicalID) {
		problems = append(problems, fmt.Sprintf("output TableName is %q, want %q", name, refTo(tableLogicalID)))
	}
	return problems
}

// settings are a function's properties after SAM applies Globals.Function:
// the function's own value wins, environment variables are merged.
type settings struct {
	runtime, handler string
	architectures    []string
	environment      map[string]string
}

func effective(fn *serverless.Function, g *global.Function) settings {
	s := settings{
		runtime:       deref(fn.Runtime),
		handler:       deref(fn.Handler),
		architectures: fn.Architectures,
		environment:   map[string]string{},
	}
	if g != nil {
		if s.runtime == "" {
			s.runtime = deref(g.Runtime)
		}
		if s.handler == "" {
			s.handler = deref(g.Handler)
		}
		if s.architectures == nil && g.Architectures != nil {
			s.architectures = *g.Architectures
		}
		if g.Environment != nil {
			for k, v := range g.Environment.Variables {
				s.environment[k] = v
			}
		}
	}
	if fn.Environment != nil {
		for k, v := range fn.Environment.Variables {
			s.environment[k] = v
		}
	}
	return s
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
