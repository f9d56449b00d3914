# Fuzz targets, mutator, tools and campaigns (fuzz/README section in README.md "Fuzzing").
#   make fuzz                 libFuzzer campaign on all cores (FUZZER=afl for AFL++), FUZZ_TIME s (600)
#   make mutants              one campaign per uvm mutant: table, exit 0 when all are detected
#   make fuzz-build           every fuzz binary
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CC := $(CLANG)
AFL_CC ?= afl-clang-fast
FUZZ_CFLAGS := -O2 -g -fno-omit-frame-pointer $(WARN) -Wno-unknown-attributes -Wno-unknown-warning-option
# The VM and the fuzz code get coverage instrumentation; the rest of the harness
# (session, diff, backends: gcc-built $(BUILD)/obj) is linked as it is.
FUZZ_VM_SRCS := vm/isa.c vm/uvm.c vm/maps.c
FUZZ_COMMON_SRCS := fuzz/input.c
FUZZ_HARNESS_SRCS := harness/session.c harness/diff.c harness/oracle.c harness/vlog.c harness/byteorder.c harness/env.c harness/backend.c harness/backend_uvm.c harness/case.c \
	harness/maps.c harness/map_format.c harness/helpers.c \
	harness/asm.c harness/disasm.c harness/minimize.c harness/backend_kernel.c harness/kexec.c harness/backend_xdp.c \
	harness/backend_plugin.c harness/outfile.c harness/discover.c harness/escape.c \
	harness/backend_guest.c harness/guest.c guest/proto.c
FUZZ_HARNESS_OBJS := $(FUZZ_HARNESS_SRCS:%.c=$(BUILD)/obj/%.o)

# -- libFuzzer (clang, -fsanitize=fuzzer) -----------------------------------
# Only the VM's execution (vm/uvm.c) is coverage-instrumented: the decoder,
# the input normalisation and the mutator would only add features that say
# nothing about the VM and cost most of the time (measured: 19k -> see bench).
# No trace-cmp hooks: they feed only -use_value_profile (not used here) and
# libFuzzer's compare dictionary (its byte mutations, 5 % of ours), and cost
# ~10 % of an execution (README "Benchmarks": callgrind instructions per exec).
# FUZZ_UVM_COV= (empty) brings them back.
FUZZ_UVM_COV ?= -fno-sanitize-coverage=trace-cmp
$(FUZZ_DIR)/lf/vm/uvm.o: vm/uvm.c fuzz/fuzz.mk | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(FUZZ_UVM_COV) -MMD -MP -c $< -o $@
$(FUZZ_DIR)/lf/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
$(FUZZ_DIR)/lf/vm/uvm-mutants.o: vm/uvm.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -DUVM_MUTANTS -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_DIR)/lf/fuzz/mutator-lf.o: fuzz/mutator.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -DBDF_LIBFUZZER_HOOKS -MMD -MP -c $< -o $@

FUZZ_LF_COMMON := $(FUZZ_DIR)/lf/fuzz/bpf_diff.o $(FUZZ_DIR)/lf/fuzz/mutator-lf.o $(FUZZ_DIR)/lf/fuzz/input.o $(FUZZ_DIR)/lf/fuzz/shapes.o \
	$(FUZZ_DIR)/lf/vm/isa.o $(FUZZ_DIR)/lf/vm/maps.o $(FUZZ_HARNESS_OBJS)
$(FUZZ_DIR)/bpf_diff: $(FUZZ_LF_COMMON) $(FUZZ_DIR)/lf/vm/uvm.o
	$(FUZZ_CC) -fsanitize=fuzzer -o $@ $^ $(LIBS)
# The same target with the uvm's injected bugs available (BPFDIFF_MUTANT=name).
$(FUZZ_DIR)/bpf_diff_mutants: $(FUZZ_LF_COMMON) $(FUZZ_DIR)/lf/vm/uvm-mutants.o
	$(FUZZ_CC) -fsanitize=fuzzer -o $@ $^ $(LIBS)

# -- plain drivers and tools (gcc, no fuzzer) --------------------------------
$(FUZZ_DIR)/plain/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@
$(FUZZ_DIR)/bpf_diff_replay: $(FUZZ_DIR)/plain/fuzz/replay_main.o $(FUZZ_DIR)/plain/fuzz/bpf_diff.o \
		$(FUZZ_DIR)/plain/fuzz/input.o $(FUZZ_DIR)/plain/fuzz/shapes.o $(BUILD)/obj/vm/isa.o $(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o $(FUZZ_HARNESS_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)
# Kernel acceptance per shape (make shape-stats SHAPE_N=200).
$(FUZZ_DIR)/bpf_diff_shapes: $(FUZZ_DIR)/plain/fuzz/shape_stats.o $(FUZZ_DIR)/plain/fuzz/bpf_diff.o \
		$(FUZZ_DIR)/plain/fuzz/mutator.o $(FUZZ_DIR)/plain/fuzz/input.o $(FUZZ_DIR)/plain/fuzz/shapes.o \
		$(BUILD)/obj/vm/isa.o $(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o $(FUZZ_HARNESS_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)
$(FUZZ_DIR)/data2input: $(FUZZ_DIR)/plain/fuzz/data2input.o $(FUZZ_DIR)/plain/fuzz/input.o $(FUZZ_DIR)/plain/fuzz/shapes.o \
		$(BUILD)/obj/vm/isa.o $(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o $(FUZZ_HARNESS_OBJS)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)
$(FUZZ_DIR)/mutator_test: $(FUZZ_DIR)/plain/fuzz/mutator_test.o $(FUZZ_DIR)/plain/fuzz/mutator.o \
		$(FUZZ_DIR)/plain/fuzz/input.o $(FUZZ_DIR)/plain/fuzz/shapes.o $(BUILD)/obj/vm/isa.o
	$(CC) $(CFLAGS) -o $@ $^
# AFL++ custom mutator (AFL_CUSTOM_MUTATOR_LIBRARY).
$(FUZZ_DIR)/afl_mutator.so: fuzz/mutator.c fuzz/input.c fuzz/shapes.c vm/isa.c fuzz/mutator.h fuzz/input.h fuzz/rng.h fuzz/shapes.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -DBDF_AFL_HOOKS -shared -fPIC -o $@ fuzz/mutator.c fuzz/input.c fuzz/shapes.c vm/isa.c

# -- AFL++ (afl-clang-fast -fsanitize=fuzzer links AFL's persistent-mode driver) --
$(FUZZ_DIR)/afl/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	AFL_QUIET=1 $(AFL_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@
$(FUZZ_DIR)/bpf_diff_afl: $(FUZZ_DIR)/afl/fuzz/bpf_diff.o $(FUZZ_DIR)/afl/fuzz/input.o $(FUZZ_DIR)/afl/fuzz/shapes.o $(FUZZ_DIR)/afl/vm/isa.o \
		$(FUZZ_DIR)/afl/vm/uvm.o $(FUZZ_DIR)/afl/vm/maps.o $(FUZZ_HARNESS_OBJS)
	AFL_QUIET=1 $(AFL_CC) -fsanitize=fuzzer -o $@ $^ $(LIBS)

# -- the parser/assembler/uvm target (issue 2), ASan + UBSan ----------------
PARSE_FUZZ_SRCS := fuzz/parse_fuzz.c harness/case.c harness/asm.c harness/disasm.c harness/backend.c harness/maps.c harness/vlog.c \
	harness/map_format.c harness/helpers.c vm/isa.c vm/uvm.c vm/maps.c
$(FUZZ_DIR)/asan/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) -O1 -g -fno-omit-frame-pointer $(WARN) -Wno-unknown-warning-option -Wno-unknown-attributes -fsanitize=fuzzer-no-link,address,undefined \
		-fno-sanitize-recover=undefined -MMD -MP -c $< -o $@
$(FUZZ_DIR)/parse_fuzz: $(PARSE_FUZZ_SRCS:%.c=$(FUZZ_DIR)/asan/%.o)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^

FUZZ_BINS := $(FUZZ_DIR)/bpf_diff $(FUZZ_DIR)/bpf_diff_mutants $(FUZZ_DIR)/bpf_diff_replay $(FUZZ_DIR)/data2input \
	$(FUZZ_DIR)/bpf_diff_shapes \
	$(FUZZ_DIR)/mutator_test $(FUZZ_DIR)/afl_mutator.so $(FUZZ_DIR)/parse_fuzz
FUZZ_AFL_BINS := $(if $(shell command -v $(AFL_CC) 2>/dev/null),$(FUZZ_DIR)/bpf_diff_afl)
# What tests/test_fuzz.py needs (the lead adds it to `test:`'s prerequisites).
FUZZ_TEST_DEPS := $(FUZZ_BINS) $(FUZZ_AFL_BINS)
BENCH_DEPS += $(FUZZ_DIR)/bpf_diff

.PHONY: fuzz fuzz-build mutants shape-stats
fuzz-build: $(FUZZ_TEST_DEPS)
FUZZER ?= libfuzzer
FUZZ_TIME ?= 600
fuzz: fuzz-build all
	BUILD=$(BUILD) FUZZER=$(FUZZER) FUZZ_TIME=$(FUZZ_TIME) bash fuzz/campaign.sh
# N generated inputs per shape on BPFDIFF_BACKENDS (default all): acceptance per shape.
SHAPE_N ?= 200
shape-stats: $(FUZZ_DIR)/bpf_diff_shapes
	$(FUZZ_DIR)/bpf_diff_shapes $(SHAPE_N) $(SHAPES)
MUTANT_BUDGET ?= 60
mutants: $(FUZZ_DIR)/bpf_diff_mutants
	BUILD=$(BUILD) MUTANT_BUDGET=$(MUTANT_BUDGET) bash fuzz/run_mutants.sh

-include $(wildcard $(FUZZ_DIR)/*/*.d $(FUZZ_DIR)/*/*/*.d)
