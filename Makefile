# layerprof build. `make` builds ./layerprof; `make test` and `make demo` do
# their own set-up (tools/install-deps.sh) on a fresh Debian machine.
#
# The BPF object is built once with CO-RE (bpf/vmlinux_min.h, never this
# host's kernel headers), so the same binary loads on any x86-64 kernel
# >= 5.8 with BTF.

CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
STRIP_BPF := $(shell command -v llvm-strip 2>/dev/null)
BUILD    ?= build

PKGS     := libbpf libcjson zlib libdeflate libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
            -Iinclude -Isrc -I$(BUILD) $(PKG_CFLAGS) -MMD -MP
LDLIBS   += -lbpf -lelf -lz -ldeflate -lcjson -lpthread -lm

# `make SAN=1 BUILD=build-san` is the sanitizer build run by `make test`.
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

BPF_SRC  := bpf/layerprof.bpf.c
BPF_OBJ  := $(BUILD)/layerprof.bpf.o
SKEL     := $(BUILD)/layerprof.skel.h
SRCS     := $(wildcard src/*.c)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
LIB      := $(BUILD)/liblayerprof.a
BIN      := $(if $(filter build,$(BUILD)),layerprof,$(BUILD)/layerprof)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
HELPER_SRCS := $(wildcard tests/bpf/*.c)
HELPER_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(HELPER_SRCS))

.PHONY: install-deps-bench all test test-engines engines unit-bins test-bins demo bench fuzz clean install-deps-test install-deps-demo
.DELETE_ON_ERROR:

all: $(BIN)

$(BUILD)/.dir:
	@mkdir -p $(BUILD)/obj $(BUILD)/tests
	@touch $@

$(BPF_OBJ): $(BPF_SRC) $(wildcard bpf/*.h) $(wildcard include/layerprof/*) | $(BUILD)/.dir
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_x86 -Wall -Werror -Iinclude -Ibpf -c $(BPF_SRC) -o $@
	$(if $(STRIP_BPF),$(STRIP_BPF) -g $@)

$(SKEL): $(BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name layerprof_bpf > $@

# Every object may include the skeleton (loader.c does); generate it first.
$(BUILD)/obj/%.o: src/%.c $(SKEL) | $(BUILD)/.dir
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/obj/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB) | $(BUILD)/.dir
	$(CC) $(CFLAGS) -Wno-unused-parameter $(LDFLAGS) -o $@ $< $(LIB) -lcriterion $(LDLIBS)

# Workloads and checkers for the BPF integration tests (plain C, no BPF).
$(BUILD)/tests/%: tests/bpf/%.c $(LIB) | $(BUILD)/.dir
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

unit-bins: $(UNIT_BINS)
test-bins: $(BIN) $(UNIT_BINS) $(HELPER_BINS)

install-deps-test:
	tools/install-deps.sh test

install-deps-demo:
	tools/install-deps.sh demo

install-deps-bench:
	tools/install-deps.sh bench

# Everything: unit tests (plain and sanitized), BPF integration tests (root),
# end-to-end tests on a private dockerd (root + docker.io).
test: install-deps-test
	$(MAKE) test-bins
	$(MAKE) SAN=1 BUILD=build-san test-bins
	tests/run.sh

# The end-to-end fixtures on every engine of tools/engine.sh (Debian's
# dockerd 20.10, dockerd 28.4 on overlay2 and on the containerd store, dockerd
# 29, standalone buildkitd 0.24 through buildx); the engines are built from
# source on first use and cached in /var/cache/layerprof/engines (`make engines`).
engines:
	tools/engine-build.sh

test-engines:
	tools/install-deps.sh engines
	$(MAKE) all
	tools/engine-build.sh
	tests/engines/run.sh

demo: install-deps-demo
	$(MAKE) all
	tools/demo.sh

bench: install-deps-bench
	$(MAKE) all
	bench/run.sh

# Coverage-guided fuzzing of the parsers (libFuzzer, ASan + UBSan), each
# target FUZZ_SECONDS long; `make test` only replays the corpus.
FUZZ_SECONDS ?= 60
fuzz: install-deps-test
	fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf build build-san layerprof fuzz/build

-include $(OBJS:.o=.d)
