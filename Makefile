# mod_sse: build, test, run and benchmark.
#
#   make          mod_sse.so (apxs) and mock-store/mock-store
#   make run      the demo on http://127.0.0.1:8080 with the bundled mock-store
#   make test     every suite; ends with one line "N passed, N failed"
#   make install  apxs -i plus conf/sse.load and conf/sse.conf; make uninstall undoes it
#   make deb      build/libapache2-mod-sse_<version>_<arch>.deb (and mod-sse-tools), with lintian
#   make bench    the benchmark; prints a table, writes tests/bench/results/
#   make fuzz     every libFuzzer target for 60 s; make leakcheck, make soak: see ci/

APXS    ?= apxs
CC      ?= cc
BUILD   := build
WARN    := -Wall -Wextra -Werror
DEPS_PC := libmongoc-1.0 jansson openssl
APR_INC := $(shell apr-1-config --includes --cppflags 2>/dev/null)
PC_CFLAGS := $(shell pkg-config --cflags $(DEPS_PC) 2>/dev/null)
PC_LIBS   := $(shell pkg-config --libs $(DEPS_PC) 2>/dev/null)

# Every file of the module; the "pure" ones know nothing of httpd and are
# what the unit tests link against.
MOD_SRC  := $(wildcard mod_sse/*.c)
PURE_SRC := $(wildcard mod_sse/sse_b64url.c mod_sse/sse_jwt.c mod_sse/sse_jwt_keys.c mod_sse/sse_json.c \
            mod_sse/sse_event.c mod_sse/sse_duration.c mod_sse/sse_patch.c \
            mod_sse/sse_collection_set.c mod_sse/sse_heap.c mod_sse/sse_query.c mod_sse/sse_etag.c \
            mod_sse/sse_store_breaker.c mod_sse/sse_share.c)

# mock-store: everything but main.c is build/libmockstore.a, which the
# binary, the fuzz target (a copy built by clang with fuzzer coverage, see
# ci/fuzz.sh) and anything else that drives the store in-process link.
MS_SRC     := $(wildcard mock-store/*.c)
MS_HDR     := $(wildcard mock-store/*.h)
MS_LIB_SRC := $(filter-out mock-store/main.c,$(MS_SRC))
MS_CFLAGS  := -std=gnu11 $(WARN) $(shell pkg-config --cflags libbson-1.0 2>/dev/null)
MS_LIB     := $(BUILD)/libmockstore.a
MS_OBJ     := $(patsubst mock-store/%.c,$(BUILD)/mockstore-obj/%.o,$(MS_LIB_SRC))
FUZZ_CC    ?= clang
MS_FUZZ_LIB := $(BUILD)/fuzz/libmockstore.a
MS_FUZZ_OBJ := $(patsubst mock-store/%.c,$(BUILD)/fuzz/mockstore-obj/%.o,$(MS_LIB_SRC))

SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(wildcard tests/unit/test_*.c))
MSTEST_BIN := $(patsubst tests/mock-store/%.c,$(BUILD)/mock-store/%,$(wildcard tests/mock-store/test_*.c))

.PHONY: all module mock-store unit-tests test run install uninstall deb bench clean leakcheck fuzz soak metrics-cost

all: module mock-store

module: mod_sse/mod_sse.so
mock-store: mock-store/mock-store

# CPPFLAGS/CFLAGS/LDFLAGS from the environment (dpkg-buildflags in a package
# build) reach the compiler and libtool one flag at a time.
APXS_FLAGS := -Wc,-Wall -Wc,-Wextra -Wc,-Werror -Wc,-Wno-unused-parameter -Wc,-std=gnu11 \
              $(PC_CFLAGS) $(PC_LIBS) \
              $(foreach f,$(CPPFLAGS) $(CFLAGS),-Wc,$(f)) $(foreach f,$(LDFLAGS),-Wl,$(f))

# apxs is chatty; its output is kept in build/apxs.log and shown on failure.
mod_sse/mod_sse.so: $(MOD_SRC) $(wildcard mod_sse/*.h)
	@mkdir -p $(BUILD)
	@cd mod_sse && $(APXS) -c -o mod_sse.la $(APXS_FLAGS) $(notdir $(MOD_SRC)) \
	    >../$(BUILD)/apxs.log 2>&1 || { cat ../$(BUILD)/apxs.log; exit 1; }
	@# A new file renamed into place: running Apaches keep the one they mapped
	@# (cp over it in place makes their children die of SIGBUS).
	@cp mod_sse/.libs/mod_sse.so $@.tmp && mv -f $@.tmp $@

$(BUILD)/mockstore-obj/%.o: mock-store/%.c $(MS_HDR)
	@mkdir -p $(dir $@)
	$(CC) -O2 -g $(MS_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(MS_LIB): $(MS_OBJ)
	rm -f $@ && ar rcs $@ $^

mock-store/mock-store: mock-store/main.c $(MS_HDR) $(MS_LIB)
	$(CC) -O2 -g $(MS_CFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ mock-store/main.c $(MS_LIB) \
	    $(LDFLAGS) $(shell pkg-config --libs libbson-1.0) -lpthread -lm

# The fuzzer's copy: same sources, instrumented for coverage and sanitizers.
$(BUILD)/fuzz/mockstore-obj/%.o: mock-store/%.c $(MS_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -g -O1 $(MS_CFLAGS) -Wno-unused-parameter -fsanitize=fuzzer-no-link,address,undefined \
	    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -c -o $@ $<

$(MS_FUZZ_LIB): $(MS_FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

unit-tests: $(UNIT_BIN) $(MSTEST_BIN)

# build/libsse_pure.a: every module file that needs no httpd (PURE_SRC),
# built with the sanitizers; the unit tests link it. The fuzzer's copy is
# build/fuzz/libsse_pure.a (ci/fuzz.sh).
APXS_INC    := $(shell $(APXS) -q INCLUDEDIR 2>/dev/null)
PURE_CFLAGS := -g -O1 -std=gnu11 $(WARN) -Wno-unused-parameter -Imod_sse -I$(APXS_INC) $(APR_INC) $(PC_CFLAGS)
PURE_LIB    := $(BUILD)/libsse_pure.a
PURE_OBJ    := $(patsubst mod_sse/%.c,$(BUILD)/pure-obj/%.o,$(PURE_SRC))
PURE_FUZZ_LIB := $(BUILD)/fuzz/libsse_pure.a
PURE_FUZZ_OBJ := $(patsubst mod_sse/%.c,$(BUILD)/fuzz/pure-obj/%.o,$(PURE_SRC))

$(BUILD)/pure-obj/%.o: mod_sse/%.c $(wildcard mod_sse/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(PURE_CFLAGS) $(SAN) -c -o $@ $<

$(PURE_LIB): $(PURE_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/pure-obj/%.o: mod_sse/%.c $(wildcard mod_sse/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(PURE_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	    -fno-sanitize-recover=undefined -fno-omit-frame-pointer -c -o $@ $<

$(PURE_FUZZ_LIB): $(PURE_FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/unit/%: tests/unit/%.c $(PURE_LIB) $(wildcard mod_sse/*.h tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(PURE_CFLAGS) $(SAN) -Itests/unit -o $@ $< $(PURE_LIB) $(PC_LIBS) -lapr-1 -lcmocka

# The metrics table against real forked children; httpd's few symbols are
# stubbed in the test.
$(BUILD)/unit/test_metrics: tests/unit/test_metrics.c mod_sse/sse_metrics.c mod_sse/sse_metrics.h tests/unit/unit_pool.h
	@mkdir -p $(dir $@)
	$(CC) -g -O1 -std=gnu11 $(WARN) -Wno-unused-parameter $(SAN) -Imod_sse -I$(shell $(APXS) -q INCLUDEDIR) $(APR_INC) \
	    -Itests/unit -o $@ $< mod_sse/sse_metrics.c -lapr-1 -lcmocka

$(BUILD)/mock-store/%: tests/mock-store/%.c
	@mkdir -p $(dir $@)
	$(CC) -g -O1 -std=gnu11 $(WARN) -Wno-unused-parameter $(SAN) $(shell pkg-config --cflags libmongoc-1.0) \
	    -o $@ $< $(shell pkg-config --libs libmongoc-1.0) -lcmocka

test:
	bash ci/test.sh

run:
	bash ci/run-demo.sh

install: module
	@bash ci/install.sh

uninstall:
	@bash ci/install.sh --uninstall

deb:
	@bash ci/build-deb.sh

bench:
	bash ci/bench.sh

# What the metrics add to a polling tick, measured on sse_metrics.c alone.
metrics-cost:
	@mkdir -p $(BUILD)/bench
	$(CC) -O2 -g -std=gnu11 $(WARN) -Wno-unused-parameter -Imod_sse -I$(shell $(APXS) -q INCLUDEDIR) $(APR_INC) \
	    -o $(BUILD)/bench/metrics_cost tests/bench/metrics_cost.c mod_sse/sse_metrics.c -lapr-1
	$(BUILD)/bench/metrics_cost

# Not part of `make test` (a short run of each fuzz target is).
fuzz:
	bash ci/fuzz.sh 60

leakcheck: all
	bash ci/leakcheck.sh

soak: all
	bash ci/soak.sh

clean:
	rm -rf $(BUILD) mod_sse/*.o mod_sse/*.lo mod_sse/*.slo mod_sse/*.la mod_sse/.libs mod_sse/mod_sse.so mock-store/mock-store
