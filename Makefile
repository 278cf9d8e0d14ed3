# The two set-up commands of the README: `make demo` and `make test`.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake
CONFIGURE = $(CMAKE) -S . -DCMAKE_BUILD_TYPE=RelWithDebInfo
RUN_CTEST = tools/run-ctest
# No "Entering/Leaving directory" lines, here or from cmake --build's make.
MAKEFLAGS += --no-print-directory

# `make test` runs every pass below, each one also usable alone:
#   test-unit      today's build (gcc), every test; then a Release build and
#                  an install checked by building a consumer against it
#   test-asan      clang -fsanitize=address,undefined, every test
#   test-tsan      clang -fsanitize=thread, the tests labelled `concurrency`
#   test-valgrind  the gcc build again, every test under valgrind memcheck
#   test-lint      `make lint`: clang-tidy and cppcheck find nothing in src/;
#                  the folders of src/ are layers (tools/check-layers); every
#                  test and comment cites a clause SPEC defines
#                  (tools/check-spec-ids); both tools fail on planted faults
# The sanitizer and valgrind builds live in $(BUILD)/asan, $(BUILD)/tsan and
# $(BUILD)/valgrind. Missing tools are installed by tools/need-packages.
TEST_PASSES = unit asan tsan valgrind lint

# clang, its runtimes (libclang-rt-14-dev: sanitizers and libFuzzer), and
# llvm-symbolizer (llvm-14), which puts file:line into sanitizer reports.
CLANG_RT = /usr/lib/llvm-14/lib/clang/14.0.6/lib/linux
NEED_CLANG = tools/need-packages clang=clang \
  /usr/lib/llvm-14/bin/llvm-symbolizer=llvm-14 \
  $(CLANG_RT)/libclang_rt.asan-x86_64.a=libclang-rt-14-dev \
  $(CLANG_RT)/libclang_rt.tsan-x86_64.a=libclang-rt-14-dev \
  $(CLANG_RT)/libclang_rt.fuzzer-x86_64.a=libclang-rt-14-dev
NEED_VALGRIND = tools/need-packages valgrind=valgrind

# Every sanitizer finding is fatal, and so fails its test. LeakSanitizer
# checks every process at exit(), and every test case before its _exit()
# (tests/harness.c).
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=1:detect_stack_use_after_return=1:strict_string_checks=1 \
  UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1
# atexit_sleep_ms: TSan's default waits 1 s at every exit while threads run,
# i.e. in every real-clock test case; 50 ms still lets them be checked.
TSAN_ENV = TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:atexit_sleep_ms=50

# `make fuzz`: libFuzzer on the model-based harness (fuzz/), from the
# committed corpus, for FUZZ_SECONDS; what it finds goes to $(BUILD)/asan/fuzz/corpus.
FUZZ_SECONDS ?= 600

.PHONY: view-trace-check all build demo demo-virtual test test-unit test-asan test-tsan test-valgrind test-lint lint fuzz bench install clean
# One pass at a time: each already builds and tests with -j $(JOBS), and the
# real-clock tests want the cores they were promised.
.NOTPARALLEL:

all: build

$(BUILD)/CMakeCache.txt:
	$(CONFIGURE) -B $(BUILD)

build: $(BUILD)/CMakeCache.txt
	$(CMAKE) --build $(BUILD) -j $(JOBS)

# The demo's build is quiet: its output (progress, errors) is shown only
# when it fails. The program is $(BUILD)/examples/stortimer-demo.
DEMO_BUILD = @log=$(BUILD)/demo-build.log; mkdir -p $(BUILD); \
  echo "building stortimer-demo (log: $$log)"; \
  { [ -f $(BUILD)/CMakeCache.txt ] || $(CONFIGURE) -B $(BUILD); } > $$log 2>&1 && \
  $(CMAKE) --build $(BUILD) -j $(JOBS) --target stortimer-demo >> $$log 2>&1 || \
  { grep -v '^\[ *[0-9]*%\]' $$log >&2; echo "make demo: the build failed (above)" >&2; exit 1; }

demo:
	$(DEMO_BUILD)
	$(BUILD)/examples/stortimer-demo

demo-virtual:
	$(DEMO_BUILD)
	$(BUILD)/examples/stortimer-demo --virtual

# Runs every pass (building it), even after one fails, then sums them up.
test:
	@failed=; times=; for pass in $(TEST_PASSES); do \
	  start=$$(date +%s); \
	  $(MAKE) --no-print-directory test-$$pass || failed="$$failed $$pass"; \
	  times="$$times $$pass $$(( $$(date +%s) - start )) s,"; \
	done; \
	total=$(words $(TEST_PASSES)); nfailed=$$(echo $$failed | wc -w); \
	tools/reliability-figures $(BUILD); \
	echo "== make test:$${times%,}; $$((total - nfailed)) passed$${failed:+, FAILED:$$failed} =="; \
	echo "passes: $$((total - nfailed)) passed, $$nfailed failed"; \
	[ -z "$$failed" ]

# The unit pass also builds the library and demo as `make bench` does
# (Release, -O3), where gcc's warnings differ: -Werror holds there too; and
# installs into a temporary prefix and builds a consumer against that
# (tools/check-install), and checks that every routine of both headers has
# a manual page that renders without a warning (tools/check-man-pages).
test-unit: build
	$(RUN_CTEST) unit "gcc, every test" $(BUILD) -j $(JOBS)
	$(CMAKE) -S . -B $(BUILD)/release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
	$(CMAKE) --build $(BUILD)/release -j $(JOBS) --target stortimer_static stortimer_shared stortimer-demo
	tools/check-install $(BUILD)
	tools/check-man-pages

test-asan:
	$(NEED_CLANG)
	$(CONFIGURE) -B $(BUILD)/asan -DCMAKE_C_COMPILER=clang -DSTORTIMER_SANITIZE=address,undefined
	$(CMAKE) --build $(BUILD)/asan -j $(JOBS)
	$(ASAN_ENV) $(RUN_CTEST) asan "clang -fsanitize=address,undefined, every test" $(BUILD)/asan -j $(JOBS)

test-tsan:
	$(NEED_CLANG)
	$(CONFIGURE) -B $(BUILD)/tsan -DCMAKE_C_COMPILER=clang -DSTORTIMER_SANITIZE=thread
	$(CMAKE) --build $(BUILD)/tsan -j $(JOBS)
	$(TSAN_ENV) $(RUN_CTEST) tsan "clang -fsanitize=thread, tests labelled concurrency" $(BUILD)/tsan -j $(JOBS) -L concurrency

# Real-clock timing checks that valgrind's slowdown (cold code runs many times
# slower, threads take turns) breaks; for these programs only memcheck's
# findings count under valgrind (tools/valgrind-memcheck):
#  - test_dispatcher: s5_4_2_dispatcher_wakes_about_once_per_fire_time[real] wants
#    the dispatcher asleep at least once before a 30 ms timer is due; a new
#    adapter's dispatcher thread can first run later than that (0 wake-ups).
#  - test_stress: time-bounded; it ran clean in 24 valgrind runs once its
#    shutdown order was fixed, but one unexplained report (a BUSY, 1 run in
#    6, not seen again in 382 runs) keeps its verdict out of this pass until
#    it is understood.
VALGRIND_MEMCHECK_ONLY = test_dispatcher test_stress

# Each test program starts through tools/valgrind-memcheck (see there). The
# fuzzer's fixed inputs there are the corpus and 200 random ones, not 2,000:
# memcheck runs them some 50 times slower, and the other passes run them all.
test-valgrind:
	$(NEED_VALGRIND)
	$(CONFIGURE) -B $(BUILD)/valgrind -DCMAKE_CROSSCOMPILING_EMULATOR=$(CURDIR)/tools/valgrind-memcheck \
	  -DSTORTIMER_REPLAY_RANDOM=200
	$(CMAKE) --build $(BUILD)/valgrind -j $(JOBS)
	VALGRIND_MEMCHECK_ONLY="$(VALGRIND_MEMCHECK_ONLY)" \
	  $(RUN_CTEST) valgrind "valgrind memcheck, gcc build, every test" $(BUILD)/valgrind -j $(JOBS)

# `make lint`: clang-tidy (checks in .clang-tidy) and cppcheck on the
# library's sources; any finding fails. A finding kept on purpose carries an
# inline NOLINT or cppcheck-suppress comment saying why. Then the layout:
#   tools/check-layers     every #include and every call between the
#                          library's objects points down the layers of src/,
#                          with no circle inside a layer (docs/design.md)
#   tools/check-spec-ids   every test is named for a clause of docs/SPEC.md,
#                          no comment cites one it does not define
#   tools/test-checkers    both fail, naming file and line, on planted faults
NEED_LINT = tools/need-packages clang-tidy=clang-tidy cppcheck=cppcheck
CPPCHECK = cppcheck --enable=warning,style,performance,portability --std=c11 \
  --inline-suppr --error-exitcode=1 --quiet -I include -I src
LIB_SOURCES = $(wildcard src/*/*.c)

lint:
	$(NEED_LINT)
	$(CONFIGURE) -B $(BUILD)/lint -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DBUILD_TESTING=OFF > /dev/null
	@# its count of suppressed warnings goes to stderr: shown only on failure
	clang-tidy -p $(BUILD)/lint --quiet $(LIB_SOURCES) 2> $(BUILD)/lint/clang-tidy.stderr || \
	  { cat $(BUILD)/lint/clang-tidy.stderr; exit 1; }
	$(CPPCHECK) $(LIB_SOURCES)
	@echo "lint: clang-tidy and cppcheck found nothing in src/"
	$(CMAKE) --build $(BUILD)/lint -j $(JOBS) --target stortimer_objects stortimer_checked \
	  stortimer_fault > /dev/null
	tools/check-layers src $(BUILD)/lint/CMakeFiles/stortimer_objects.dir/src \
	  $(BUILD)/lint/CMakeFiles/stortimer_checked.dir/src $(BUILD)/lint/CMakeFiles/stortimer_fault.dir/src
	tools/check-spec-ids
	tools/test-checkers $(BUILD)/lint/CMakeFiles/stortimer_objects.dir/src

test-lint: lint

fuzz:
	$(NEED_CLANG)
	$(CONFIGURE) -B $(BUILD)/asan -DCMAKE_C_COMPILER=clang -DSTORTIMER_SANITIZE=address,undefined
	$(CMAKE) --build $(BUILD)/asan -j $(JOBS) --target api_fuzz
	mkdir -p $(BUILD)/asan/fuzz/corpus
	$(ASAN_ENV) $(BUILD)/asan/fuzz/api_fuzz -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -timeout=30 -print_final_stats=1 $(BUILD)/asan/fuzz/corpus fuzz/corpus

# `make bench`: stortimer against libuv, libevent and timerfd, plus real-clock
# lateness, coalescing and thread scaling (bench/, about a minute); not
# part of `make test`. Tables on stdout, CSV and SVG files in
# $(BUILD)/bench/results. BENCH_ARGS=--quick for a fast try.
BENCH_ARGS ?=
NEED_BENCH = tools/need-packages pkg-config=pkg-config /usr/include/uv.h=libuv1-dev \
  /usr/include/event2/event.h=libevent-dev

bench:
	$(NEED_BENCH)
	$(CMAKE) -S . -B $(BUILD)/bench -DCMAKE_BUILD_TYPE=Release -DSTORTIMER_BENCH=ON -DBUILD_TESTING=OFF
	$(CMAKE) --build $(BUILD)/bench -j $(JOBS) --target stortimer-bench stortimer-instructions
	$(BUILD)/bench/bench/stortimer-bench --out $(BUILD)/bench/results $(BENCH_ARGS)

# `make view-trace-check`: the demo's virtual trace, opened in speedscope in
# headless Chromium (tools/view-trace installs both), renders with one
# profile per track and every slice as long as its callback. Not part of
# `make test`: it needs the npm registry once and a browser.
view-trace-check: build
	STORTIMER_TRACE=$(BUILD)/trace-demo.json $(BUILD)/examples/stortimer-demo --virtual --quiet >/dev/null
	tools/view-trace --check $(BUILD)/trace-demo.json

# `make install PREFIX=/opt/stortimer` (default /usr/local; DESTDIR is
# honoured): libraries, headers, stortimer.pc, the CMake package, man pages,
# bin/stortimer-demo. As root, without DESTDIR, into /usr or /usr/local, it
# then runs ldconfig, so that the system's library path serves programs at
# once (a custom prefix needs the rpath the README's link line carries).
PREFIX ?= /usr/local
install: build
	$(CMAKE) --install $(BUILD) --prefix $(PREFIX)
	@case "$(PREFIX)" in /usr|/usr/local) system=1 ;; *) system= ;; esac; \
	if [ -n "$$system" ] && [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
	   command -v ldconfig >/dev/null; then echo ldconfig; ldconfig; fi

clean:
	rm -rf $(BUILD)
