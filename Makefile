# The two commands a newcomer runs (see README.md): `make run` and `make test`. `make stop` stops
# the project's own PostgreSQL and Redis. Everything local lives under .data/ (git-ignored).
SERVICES := scripts/services.sh
GO_TEST_FLAGS ?= -count=1

.PHONY: client conformance-tools run test fuzz faults demo stop services build vet bench bench-matching bench-settlement bench-import bench-console bench-metering soak-metering bench-billing

build:
	go build -o bin/datavenue ./cmd/datavenue

# client: write the OpenAPI document (client/openapi.json, `datavenue openapi`) and generate the Go
# client from it (client/client.gen.go, oapi-codegen pinned in go.mod); run it after changing a
# route or a type the API sends. make test fails (TestClientIsUpToDate) while either is stale.
client:
	go generate ./client

services:
	$(SERVICES) up

# run: start the services, migrate, load demo data (idempotent), print tokens, serve until Ctrl-C.
# The development venue and the demo share a metering and a payment-callback secret (made once under
# .data/secrets; one set in the environment wins), so the demo's gateway signs usage batches and its
# bank signs payment callbacks the venue accepts.
DEV_SECRETS = DATAVENUE_METERING_SECRET=$${DATAVENUE_METERING_SECRET:-$$($(SERVICES) dev-secret metering)} \
	DATAVENUE_PAYMENT_CALLBACK_SECRET=$${DATAVENUE_PAYMENT_CALLBACK_SECRET:-$$($(SERVICES) dev-secret payment-callback)}

run: services build
	$(SERVICES) exec -- bin/datavenue migrate
	$(SERVICES) exec -- bin/datavenue seed
	$(SERVICES) exec -- env $(DEV_SECRETS) bin/datavenue serve

# test: start the services, then the whole suite against them (own test databases, never the
# demo one), then every fuzz target briefly, then one round of the fault suite.
test: conformance-tools
	$(SERVICES) up --cluster --replica
	DATAVENUE_CONFORMANCE=1 $(SERVICES) exec -- go test $(GO_TEST_FLAGS) ./...
	scripts/fuzz.sh
	$(MAKE) --no-print-directory faults

ROUNDS ?= 1

# faults: stop and start PostgreSQL and Redis, and kill -9 the venue, under load (see README
# "Faults"); runs alone because it stops the shared services. Longer: make faults ROUNDS=5
faults:
	$(SERVICES) up --cluster
	@mkdir -p .data; rc=0; DATAVENUE_FAULTS=1 DATAVENUE_FAULT_ROUNDS=$(ROUNDS) $(SERVICES) exec -- \
		go test -count=1 -timeout 30m -run '^TestFault' -v ./cmd/datavenue > .data/faults.log 2>&1 || rc=$$?; \
		grep -E '^(---|ok|FAIL|PASS|panic)|_test.go' .data/faults.log; exit $$rc

# test-cluster: every served-venue test (cmd/datavenue) with its venues on the local Redis Cluster
# (make test runs a representative part there: TestServedVenueOnRedisCluster, TestScaleOut…).
# test-scaleout: three venue processes on one database and the cluster, one killed mid-run, under
# a longer load (make test runs 15 s): make test-scaleout SCALEOUT=5m
.PHONY: test-cluster test-scaleout
SCALEOUT ?= 2m
test-cluster:
	$(SERVICES) up --cluster
	DATAVENUE_TEST_VENUE_REDIS=cluster $(SERVICES) exec -- go test $(GO_TEST_FLAGS) -timeout 20m ./cmd/datavenue

test-scaleout:
	$(SERVICES) up --cluster
	DATAVENUE_SCALEOUT_DURATION=$(SCALEOUT) $(SERVICES) exec -- go test -count=1 -timeout 60m -run '^TestScaleOut' -v ./cmd/datavenue

# test-replica: catalogue reads through the read router while the standby's replay is paused and
# resumed in cycles under a stream of writes (make test runs 4 s): make test-replica REPLICA=10m
.PHONY: test-replica
REPLICA ?= 2m
test-replica:
	$(SERVICES) up --replica
	DATAVENUE_REPLICA_DURATION=$(REPLICA) $(SERVICES) exec -- go test -count=1 -timeout 60m -run '^TestReadRouterUnderLoad$$' -v ./postgres

# conformance-tools: the outside tools make test checks outputs with: a SHACL engine for the DCAT-AP
# export, Redocly for the OpenAPI document, and openapi-typescript with tsc, the second client
# generator checked on it (Node.js packages from the npm
# registry, pinned by scripts/conformance/package-lock.json).
# Reinstalled when package-lock.json changes (npm writes node_modules/.package-lock.json).
conformance-tools:
	@test scripts/conformance/node_modules/.package-lock.json -nt scripts/conformance/package-lock.json || \
		npm ci --prefix scripts/conformance --no-audit --no-fund --loglevel=error

# screenshots: the console's pages as its browser tests see them (headless Chromium), written to
# docs/screenshots/ for the README: every journey test whose name says Browser (sign-in, catalogue,
# product, auction; the clerk's obligations, import, outcomes, exceptions and ledger; the operator's
# publishing gate; the bureau's review; the auditor's trail and integrity page).
.PHONY: screenshots
screenshots: conformance-tools services
	DATAVENUE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(SERVICES) exec -- go test -count=1 -run 'Browser' ./console/

# fuzz: only the fuzz targets; longer: make fuzz FUZZTIME=2m
fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

stop:
	$(SERVICES) down

# demo: walk the running venue (make run, in another terminal) through a whole trade over its API.
demo: build
	$(SERVICES) exec -- env $(DEV_SECRETS) bin/datavenue demo

vet:
	gofmt -l . | (! grep .) && go vet ./...

# bench: the catalogue search benchmark (100,000 products; see README "Catalogue search speed").
bench: services
	$(SERVICES) exec -- go test ./postgres -run '^$$' -bench CatalogueSearch -benchtime 2000x -count 1

# bench-console: the console's catalogue page (HTML, signed in) on 100,000 products against the
# API's JSON answer to the same searches (see README "The console").
bench-console: services
	$(SERVICES) exec -- go test ./console -run '^$$' -bench CataloguePage -benchtime 480x -count 1

# bench-settlement: settlements/s from trade to voucher against plain inserts of the same rows.
bench-settlement: services
	$(SERVICES) exec -- go test ./postgres -run '^$$' -bench Settlement -benchtime 3s -count 1

# bench-import: a 100,000-receipt treasury statement imported in one transaction, against a raw COPY
# of the same rows in the same run.
bench-import: services
	$(SERVICES) exec -- go test ./postgres -run '^$$' -bench Import -benchtime 1x -count 1 $(BENCHFLAGS)

# bench-metering: usage records through the HTTP API (signed batches of 5,000, a served venue)
# against a committed raw COPY of the same rows, exactly once, and the live heap at two volumes
# (see README "Subscriptions and metered use"); make test runs a short version.
bench-metering: services
	DATAVENUE_BENCH_METERING=1 $(SERVICES) exec -- go test ./api -run '^TestMeteringThroughput$$' -count 1 -v -timeout 20m

# soak-metering: ingestion through the HTTP API for DURATION (at least 1m), the live heap after a
# full GC sampled every 5 s, its fitted slope reported and bounded (README "Metering speed").
DURATION ?= 5m
soak-metering: services
	DATAVENUE_SOAK_METERING=$(DURATION) $(SERVICES) exec -- go test ./api -run '^TestMeteringSoak$$' -count 1 -v -timeout 60m

# bench-billing: the bills of 100,000 subscriptions for one period (500 per transaction) against
# a baseline of one transaction per subscription in the same run (README "Billing speed").
bench-billing: services
	DATAVENUE_BENCH_BILLING=1 $(SERVICES) exec -- go test ./api -run '^TestBillingThroughput$$' -count 1 -v -timeout 20m

# bench-matching: bids/s and latency of the engine (Go API) against a redis-benchmark baseline of
# the same script; add HTTP=http://127.0.0.1:8080 with a venue started by
# `DATAVENUE_RATE_PER_SECOND=0 make run` to measure the HTTP API too.
bench-matching: services
	$(SERVICES) exec -- go run ./bench/matching -bidders 16 -auctions 4 -bids 20000 $(if $(HTTP),-http $(HTTP))
