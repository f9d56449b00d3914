# bpfdiff — build everything; `make test`, `make run`, `make bench`, `make fuzz`, `make mutants`.
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang-14
BPFTOOL ?= bpftool
PYTHON ?= /usr/bin/python3
BUILD ?= build
CFLAGS ?= -O2 -g
# Messages are snprintf'd into fixed buffers on purpose: truncating a long
# message is the intended behaviour, so that one warning is off.
WARN := -Wall -Wextra -Wno-format-truncation -Werror=implicit-function-declaration
CPPFLAGS += -I. -I$(BUILD) -D_GNU_SOURCE
LIBS := -lbpf -lelf -lz
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

VM_SRCS := vm/isa.c vm/uvm.c vm/maps.c
HARNESS_SRCS := $(sort $(wildcard harness/*.c)) guest/proto.c
SRCS := $(VM_SRCS) $(HARNESS_SRCS)
OBJS := $(SRCS:%.c=$(BUILD)/obj/%.o)
SAN_OBJS := $(SRCS:%.c=$(BUILD)/san/%.o)
DEPS_STAMP := $(BUILD)/.deps-installed

.PHONY: all deps test run bench san unit clean
all: $(BUILD)/bpfdiff

# Dependencies come from Debian's archive through ci/ (quiet when present).
deps: $(DEPS_STAMP)
$(DEPS_STAMP): ci/install-deps.sh
	@mkdir -p $(BUILD)
	@ci/install-deps.sh
	@touch $@

-include vm/xdp/xdp.mk
-include fuzz/fuzz.mk
-include tests/unit/unit.mk
-include tests/unit/formats.mk
-include tests/bench/bench.mk
-include tests/unit/xdp.mk
-include tests/unit/kernel.mk
-include tests/unit/diff.mk
-include tests/unit/oracle.mk
-include tests/plugin/plugin.mk
-include tests/survey/survey.mk
-include tests/unit/failalloc.mk
-include guest/guest.mk

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

$(BUILD)/san/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -MMD -MP -c $< -o $@

# bpfdiff's version for reports (git describe), rewritten only when it changes.
$(BUILD)/version.h: FORCE
	@mkdir -p $(BUILD)
	@v=$$(git describe --always --dirty --tags 2>/dev/null || echo unknown); \
	echo "#define BPFDIFF_VERSION \"$$v\"" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi
$(BUILD)/obj/harness/env.o $(BUILD)/san/harness/env.o: $(BUILD)/version.h
.PHONY: FORCE
FORCE:

$(BUILD)/bpfdiff: $(OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# The same binary with the uvm's named mutants compiled in (`--backend uvm,uvm:NAME`).
MUTANT_OBJS := $(filter-out $(BUILD)/obj/vm/uvm.o,$(OBJS)) $(BUILD)/obj/vm/uvm-mutants.o
$(BUILD)/bpfdiff-mutants: $(MUTANT_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# AddressSanitizer + UndefinedBehaviorSanitizer build of the same binary.
san: $(BUILD)/san/bpfdiff
$(BUILD)/san/bpfdiff: $(SAN_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LIBS)

BPF_CONFORMANCE ?= ../shared/bpf_conformance/tests
RUN_PATHS := conformance $(wildcard $(BPF_CONFORMANCE)) corpus

# The main job: every suite and the corpus on every available backend.
# REPORTS=DIR also writes DIR/bpfdiff.{json,xml,md} (JSON, JUnit, markdown job summary).
run: all
	$(if $(REPORTS),@mkdir -p $(REPORTS))
	$(BUILD)/bpfdiff run $(if $(REPORTS),--json $(REPORTS)/bpfdiff.json --junit $(REPORTS)/bpfdiff.xml \
		--markdown $(REPORTS)/bpfdiff.md) $(RUN_PATHS)

test: all san $(BUILD)/bpfdiff-mutants $(UNIT_TESTS) $(FUZZ_TEST_DEPS) $(TEST_PLUGINS) $(ISA_SURVEY) guest-test-prep
	$(PYTHON) -m pytest -q tests

# Each tests/bench/*.sh prints its own figures; ratios are measured side by side in one run.
bench: all $(BENCH_DEPS)
	@for b in tests/bench/*.sh; do echo "== $$b"; BUILD=$(BUILD) bash $$b || exit 1; done

clean:
	rm -rf $(BUILD)

-include $(OBJS:.o=.d) $(SAN_OBJS:.o=.d)
