# ConvoStore: `make test`, `make build`, `make bench`, `make bench-scale`. Each target first installs what a fresh
# Debian/Ubuntu machine with only the Swift toolchain lacks.
SWIFT ?= swift
USERS ?= 1000000
BENCH_OUT ?=

.PHONY: deps build release test model-check bench-deps bench bench-test bench-scale bench-imports crash-test sanitize fuzz clean serve-smoke serve-bench

TRIALS ?= 20
FUZZ_SECONDS ?= 60

# liblmdb-dev (headers, pkg-config file) for the build; lmdb-utils (mdb_load, mdb_dump, mdb_stat) for tests;
# libnats-dev (the NATS C client) for the cluster module the command line links, nats-server for its tests.
deps:
	@if ! pkg-config --exists lmdb || ! command -v mdb_load >/dev/null 2>&1 || ! pkg-config --exists libnats || ! command -v nats-server >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing liblmdb-dev lmdb-utils pkg-config libnats-dev nats-server (apt-get)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq liblmdb-dev lmdb-utils pkg-config libnats-dev nats-server >/dev/null; \
	  else \
	    echo "error: install LMDB's headers, library and pkg-config file (lmdb.pc) and its tools (mdb_load), the NATS C client (libnats.pc) and nats-server, e.g. 'brew install lmdb cnats nats-server'" >&2; \
	    exit 2; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The suites that answer over the network (the server's, the cluster's) run on their own: in one
# process with the long synchronous suites, those would hold the few threads of Swift's cooperative
# pool (two on a 2-core machine) that the network suites' async code needs.
NETWORK_SUITES = ConvoStoreServerTests|ConvoStoreClusterTests
test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --skip '$(NETWORK_SUITES)'
	$(SWIFT) test --skip-build --filter '$(NETWORK_SUITES)'
	$(MAKE) model-check

# The command line against an independent Python model of domain.md, on random out-of-order dumps: every
# part (base rules, failed sends, pricing, limits, lifecycle), each store also round-tripped through export.
model-check: deps
	@if [ -f Tests/model/crosscheck.py ]; then \
	  $(SWIFT) build --product convostore && \
	  python3 Tests/model/crosscheck.py --cli "$$($(SWIFT) build --show-bin-path)/convostore" --seeds 2 --events 1000 --all --export; \
	fi

# RocksDB's headers and library (Debian: librocksdb-dev), for the load harness's `rocksdb` engine; the
# benchmark targets only (the store itself never needs it).
bench-deps: deps
	@if ! [ -f /usr/include/rocksdb/c.h ] && ! pkg-config --exists rocksdb 2>/dev/null; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing librocksdb-dev (apt-get)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq librocksdb-dev >/dev/null; \
	  else \
	    echo "error: RocksDB not found: install its headers and library (rocksdb/c.h, librocksdb), e.g. 'brew install rocksdb'" >&2; \
	    exit 2; \
	  fi; \
	fi

# The load harness (Benchmarks/, a package of its own): ConvoStore vs SQLite vs raw LMDB vs RocksDB,
# built in release first. USERS=, BENCH_OUT= and TRIALS= (or BENCH_TRIALS=) override; by default 3
# interleaved trials from 200,000 users on, 1 below. BENCH_FLAGS are the extra phases after the
# trials (docs/performance.md, "Load harness"). The report goes to bench-results/<timestamp>/ by default.
BENCH_TRIALS ?= $(if $(filter command line environment,$(origin TRIALS)),$(TRIALS))
BENCH_FLAGS ?= --pricing-cost --server-mode --backup-during-live
bench: bench-deps
	$(SWIFT) build -c release --package-path Benchmarks --product loadbench
	Benchmarks/.build/release/loadbench --users $(USERS) $(if $(BENCH_TRIALS),--trials $(BENCH_TRIALS)) $(BENCH_FLAGS) $(if $(BENCH_OUT),--out $(BENCH_OUT))

# The harness's own tests (Benchmarks/Tests: the trials' order), a debug build of the Benchmarks package.
bench-test: bench-deps
	$(SWIFT) test --package-path Benchmarks

# The same at 1M, 3M and 10M users in one report, for the scaling goals (hours, not minutes): one
# trial each, engines imported one at a time, ConvoStore, SQLite and raw LMDB. Live, the last 400,000
# events at every count (make bench's 1M live phase: 392,517), so that each count is measured over
# the same 400 commits, each at least 20 s of commits: equal simulated hours would give 1M a phase of
# a few seconds (2 hours: 8.5 s) and 10M one of millions of events (9 hours: 3.9 million).
# SCALE_USERS= and SCALE_ENGINES= override the counts and the engines.
# SCALE_IMPORTS=DIR keeps the imported stores there and reuses them in the next run (the imports are
# most of the hours); `make bench-imports SCALE_IMPORTS=DIR` makes them alone, without live phases.
SCALE_USERS ?= 1000000,3000000,10000000
SCALE_ENGINES ?= convostore,sqlite,raw_lmdb
SCALE_FLAGS = --users $(SCALE_USERS) --engines $(SCALE_ENGINES) --isolated-import --live-events 400000 $(if $(SCALE_IMPORTS),--imports $(SCALE_IMPORTS))
bench-scale: bench-deps
	$(SWIFT) build -c release --package-path Benchmarks --product loadbench
	Benchmarks/.build/release/loadbench $(SCALE_FLAGS) --trials $(or $(BENCH_TRIALS),1) $(if $(BENCH_OUT),--out $(BENCH_OUT))
bench-imports: bench-deps
	@test -n "$(SCALE_IMPORTS)" || { echo "make bench-imports: SCALE_IMPORTS=DIR says where to keep the imports" >&2; exit 2; }
	$(SWIFT) build -c release --package-path Benchmarks --product loadbench
	Benchmarks/.build/release/loadbench $(SCALE_FLAGS) --import-only

# Crash consistency: kill -9 the async writer, `convostore import`, `purge`, `erase` and `compact` at random moments, reopen and
# verify (scripts/crash-test.sh; Tools/ is a package of its own). TRIALS=1000 for the long run.
crash-test: deps
	SWIFT=$(SWIFT) scripts/crash-test.sh $(TRIALS)

# The whole test suite under ThreadSanitizer and AddressSanitizer (.build-tsan, .build-asan).
sanitize: deps
	SWIFT=$(SWIFT) scripts/sanitize.sh

# libFuzzer targets of Fuzz/ (-sanitize=fuzzer,address), FUZZ_SECONDS each; fails on any crash.
fuzz: deps
	SWIFT=$(SWIFT) scripts/fuzz.sh $(FUZZ_SECONDS)

# The HTTP server in one minute: start `convostore serve`, one signed delivery, one query, SIGTERM.
serve-smoke: deps
	SWIFT=$(SWIFT) scripts/serve-smoke.sh

# The server's figures (docs/server.md): wrk against `convostore serve`, then the same routes over
# SQLite (Benchmarks' sqliteserver), at 16, 64 and 256 connections. SERVE_SECONDS=60 is the real
# run (a quiet machine, about 10 minutes); SERVE_SECONDS=3 a smoke.
SERVE_SECONDS ?= 60
SERVE_USERS ?= 10000
serve-bench: deps
	SWIFT=$(SWIFT) scripts/wrk/run.sh --engine convostore --duration $(SERVE_SECONDS) --users $(SERVE_USERS) $(if $(BENCH_OUT),--out $(BENCH_OUT)/convostore)
	SWIFT=$(SWIFT) scripts/wrk/run.sh --engine sqlite --duration $(SERVE_SECONDS) --users $(SERVE_USERS) $(if $(BENCH_OUT),--out $(BENCH_OUT)/sqlite)

clean:
	rm -rf .build .build-tsan .build-asan Tools/.build Fuzz/.build Benchmarks/.build

# The partitioned cluster (docs/cluster.md): 3 nats-server processes with JetStream and 3 store nodes on
# loopback, the benchmark workload of USERS users published, one node killed with SIGKILL mid-stream,
# takeover, catch-up; the answers compared with one store's; outputs in OUT. Installs nats-server and
# libnats-dev when missing. CLUSTER_BUILD_FLAGS="-c release --scratch-path .build-cluster" for figures.
.PHONY: cluster-deps cluster-check
CLUSTER_BUILD_FLAGS ?=
cluster-deps: deps
	@if ! command -v nats-server >/dev/null 2>&1 || ! pkg-config --exists libnats; then \
	  if command -v apt-get >/dev/null 2>&1; then \
	    echo "installing nats-server libnats-dev (apt-get)"; \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nats-server libnats-dev >/dev/null; \
	  else \
	    echo "error: install nats-server and the NATS C client (libnats, with its pkg-config file libnats.pc)" >&2; \
	    exit 2; \
	  fi; \
	fi

cluster-check: cluster-deps
	@if [ -z "$(OUT)" ]; then echo "usage: make cluster-check USERS=N OUT=DIR" >&2; exit 2; fi
	SWIFT=$(SWIFT) SWIFT_BUILD_FLAGS="$(CLUSTER_BUILD_FLAGS)" scripts/cluster-check.sh $(if $(filter command line,$(origin USERS)),$(USERS),100000) $(OUT)
