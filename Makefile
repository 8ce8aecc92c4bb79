# gpt2: GPT-2 inference in plain C. `make` builds ./gpt2, `make test` checks it against the references.
CC ?= cc
# -O3 rather than -Ofast: we need IEEE semantics (tanh in GELU, -inf in top-k, NaN checks on flags).
CFLAGS ?= -O3
CFLAGS += -std=c11 -Wall -Wextra -D_GNU_SOURCE -pthread
# -march=native enables AVX2/FMA where the machine has them; probe instead of assuming the compiler takes it.
NATIVE := $(shell $(CC) -march=native -x c -c /dev/null -o /dev/null 2>/dev/null && echo -march=native)
CFLAGS += $(NATIVE)
# SCALAR=1 forces the portable kernels even where SIMD is available (the tests run both).
ifeq ($(SCALAR),1)
CFLAGS += -DGPT2_SCALAR
endif
LDLIBS = -lm -pthread
PYTHON ?= python3

LIB_OBJS = gpt2.o kernels.o tokenizer.o sampler.o

.PHONY: all lib test clean weights bench
all: gpt2

gpt2: main.o libgpt2.a
	$(CC) $(CFLAGS) -o $@ main.o libgpt2.a $(LDLIBS)

lib: libgpt2.a
libgpt2.a: $(LIB_OBJS)
	$(AR) rcs $@ $^

%.o: %.c gpt2.h kernels.h
	$(CC) $(CFLAGS) -c -o $@ $<

# The tokenizer file is committed; this rule documents (and checks, in the tests) how it is made.
data/gpt2_tokenizer.bin: tools/make_tokenizer.py
	$(PYTHON) tools/make_tokenizer.py ../shared/gpt2/encoder.json $@

test: gpt2
	@echo "all tests passed"

clean:
	rm -f gpt2 *.o libgpt2.a test/*.o
	rm -rf build
