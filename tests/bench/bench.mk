# Benchmarks (included by the top Makefile); `make bench` runs tests/bench/*.sh.
BENCH_DEPS += $(BUILD)/bench/uvm_loop

$(BUILD)/bench/uvm_loop: $(BUILD)/obj/tests/bench/uvm_loop.o $(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o $(BUILD)/obj/vm/isa.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^

-include $(BUILD)/obj/tests/bench/uvm_loop.d

# Kernel backend vs a raw-syscall loop (tests/bench/kernel.sh).
BENCH_DEPS += $(BUILD)/bench/kernel_bench
$(BUILD)/bench/kernel_bench: $(BUILD)/obj/tests/bench/kernel_bench.o $(BUILD)/obj/harness/backend_kernel.o $(BUILD)/obj/harness/kexec.o \
		$(BUILD)/obj/harness/backend.o $(BUILD)/obj/harness/env.o $(BUILD)/obj/harness/maps.o $(BUILD)/obj/harness/helpers.o \
		$(BUILD)/obj/vm/isa.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

# The xdp VM: ns per guest instruction and cases/s (tests/bench/xdp.sh).
BENCH_DEPS += $(BUILD)/bench/xdp_bench
$(BUILD)/bench/xdp_bench: $(BUILD)/obj/tests/bench/xdp_bench.o $(BUILD)/obj/harness/backend_xdp.o \
		$(BUILD)/obj/harness/backend.o $(BUILD)/obj/harness/env.o $(BUILD)/obj/harness/maps.o $(BUILD)/obj/harness/helpers.o \
		$(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o $(BUILD)/obj/vm/isa.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

-include $(BUILD)/obj/tests/bench/kernel_bench.d $(BUILD)/obj/tests/bench/xdp_bench.d
