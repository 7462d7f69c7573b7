# Go 1.26.8 on these machines has published net/http and crypto vulnerabilities;
# the go command fetches this toolchain from the module proxy.
export GOTOOLCHAIN := go1.27.3

BIN := $(CURDIR)/.bin

.PHONY: dev test chaos record-histories check lint fuzz generate swagger-ui build clean cluster-tools cluster cluster-chaos

## dev: run the whole stack locally (Postgres, Temporal dev server, worker, API)
dev: $(BIN)/temporal
	scripts/dev

## test: vet, workflowcheck, every test against real Postgres and Temporal, and the offline checks of deployments/
test: $(BIN)/temporal check
	scripts/ensure-postgres
	TEMPORAL_CLI=$(BIN)/temporal go test -race -count=1 -timeout 30m ./...
	cd tools/deploy && go test -count=1 ./...

## cluster: the production shape locally: Temporal Server as separate processes on Postgres, its UI, two workers, two APIs, the codec server
cluster: $(BIN)/temporal
	scripts/cluster

## chaos: load with kill -9 of worker and API, Temporal and Postgres restarts, then verify (CHAOS_SECONDS, default 120)
chaos: $(BIN)/temporal
	scripts/chaos

## cluster-chaos: make cluster on databases of its own, kill -9 of every kind of process in turn and a Postgres restart under load through both APIs, then verify, reconcile, replay and per-fault recovery (CLUSTER_CHAOS_SECONDS, default 180)
cluster-chaos: $(BIN)/temporal
	scripts/cluster-chaos

## record-histories: re-record workflows/testdata (the replay test's fixtures) from cases run on a real dev server
record-histories: $(BIN)/temporal
	scripts/ensure-postgres
	rm -f workflows/testdata/*.json
	TEMPORAL_CLI=$(BIN)/temporal go test -count=1 -run TestCaseHistoriesReplay ./e2e -args -record-histories

## check: static checks (gofmt, go vet, workflowcheck)
check: $(BIN)/workflowcheck
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$unformatted" ] || { echo "gofmt would change: $$unformatted"; exit 1; }
	go vet ./...
	$(BIN)/workflowcheck ./...

## lint: staticcheck and govulncheck (offline, against the vulndb pinned in tools/dev/go.mod)
lint: check $(BIN)/staticcheck $(BIN)/govulncheck $(BIN)/vulndb
	$(BIN)/staticcheck ./...
	$(BIN)/govulncheck -db file://$(BIN)/vulndb ./...

## fuzz: run each fuzz target for FUZZ_EXECS executions (figures in docs/SECURITY.md)
FUZZ_EXECS ?= 100000
fuzz:
	for target in FuzzCreateBodies FuzzCaseWrites FuzzReadQueries FuzzViewsEncodeAsEncodingJSON; do \
		go test ./api/ -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZ_EXECS)x || exit 1; \
	done

## swagger-ui: fetch the pinned swagger-ui-dist from the npm registry into api/docs (committed, embedded)
SWAGGER_UI_VERSION := 5.32.0
swagger-ui:
	tmp=$$(mktemp -d) && cd $$tmp && npm pack --silent swagger-ui-dist@$(SWAGGER_UI_VERSION) >/dev/null && \
	tar xzf swagger-ui-dist-$(SWAGGER_UI_VERSION).tgz && \
	cp package/swagger-ui-bundle.js package/swagger-ui.css package/LICENSE package/NOTICE $(CURDIR)/api/docs/ && \
	rm -rf $$tmp
	echo $(SWAGGER_UI_VERSION) > api/docs/VERSION

## generate: regenerate the sqlc query code from store/queries.sql and api/openapi.json from api/openapi.yaml
generate: $(BIN)/sqlc
	$(BIN)/sqlc generate
	go test ./api/contract -run TestServedJSONMatchesTheYAML -update

## build: the three commands as deployments/Dockerfile builds them (static, no cgo), so local figures are the shipped binary's
build:
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/ ./cmd/...

# Tools are pinned in their own modules so their dependencies stay out of ours.
$(BIN)/temporal: tools/go.mod tools/go.sum
	cd tools && go build -o $(BIN)/temporal github.com/temporalio/cli/cmd/temporal

# The multi-process Temporal cluster's binaries: the server (one service per
# process), its SQL schema tool and the UI server, pinned in tools/cluster.
cluster-tools: $(BIN)/temporal-server $(BIN)/temporal-sql-tool $(BIN)/temporal-ui-server

$(BIN)/temporal-server: tools/cluster/go.mod tools/cluster/go.sum
	cd tools/cluster && go build -o $(BIN)/temporal-server go.temporal.io/server/cmd/server

$(BIN)/temporal-sql-tool: tools/cluster/go.mod tools/cluster/go.sum
	cd tools/cluster && go build -o $(BIN)/temporal-sql-tool go.temporal.io/server/cmd/tools/sql

$(BIN)/temporal-ui-server: tools/cluster/go.mod tools/cluster/go.sum
	cd tools/cluster && go build -o $(BIN)/temporal-ui-server github.com/temporalio/ui-server/v2/cmd/server

# Helm, for rendering the chart by hand; tools/deploy's tests render it
# through the same module.
$(BIN)/helm: tools/deploy/go.mod tools/deploy/go.sum
	cd tools/deploy && go build -o $(BIN)/helm helm.sh/helm/v4/cmd/helm

$(BIN)/sqlc: tools/dev/go.mod tools/dev/go.sum
	cd tools/dev && go build -o $(BIN)/sqlc github.com/sqlc-dev/sqlc/cmd/sqlc

$(BIN)/staticcheck: tools/dev/go.mod tools/dev/go.sum
	cd tools/dev && go build -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck

$(BIN)/govulncheck: tools/dev/go.mod tools/dev/go.sum
	cd tools/dev && go build -o $(BIN)/govulncheck golang.org/x/vuln/cmd/govulncheck

# govulncheck cannot reach its online database from here: index the OSV files
# of the golang.org/x/vulndb module version pinned in tools/dev/go.mod.
$(BIN)/vulndb: tools/dev/go.mod tools/dev/go.sum
	cd tools/dev && go build -o $(BIN)/indexdb golang.org/x/vulndb/cmd/indexdb
	rm -rf $(BIN)/vulndb
	$(BIN)/indexdb -vulns "$$(cd tools/dev && go list -m -f '{{.Dir}}' golang.org/x/vulndb)/data/osv" -out $(BIN)/vulndb

$(BIN)/workflowcheck: tools/dev/go.mod tools/dev/go.sum
	cd tools/dev && go build -o $(BIN)/workflowcheck go.temporal.io/sdk/contrib/tools/workflowcheck

clean:
	rm -rf $(BIN)
