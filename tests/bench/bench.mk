# Benchmarks (included by the top Makefile); `make bench` runs tests/bench/*.sh.
BENCH_DEPS += $(BUILD)/bench/uvm_loop

$(BUILD)/bench/uvm_loop: $(BUILD)/obj/tests/bench/uvm_loop.o $(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/isa.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^

-include $(BUILD)/obj/tests/bench/uvm_loop.d
