# Unit test of the kernel backend (needs root: BPF_PROG_LOAD + BPF_PROG_TEST_RUN). Run: make unit-kernel
KERNEL_TEST := $(BUILD)/unit/test_kernel
UNIT_TESTS += $(KERNEL_TEST)
# harness/backend.c (bd_status_name, bd_result_reset) when it exists; else the test's stand-ins.
KERNEL_TEST_BACKEND_C := $(wildcard harness/backend.c)
KERNEL_TEST_OBJS := $(BUILD)/obj/harness/backend_kernel.o $(KERNEL_TEST_BACKEND_C:%.c=$(BUILD)/obj/%.o)

$(KERNEL_TEST): tests/unit/test_kernel.c $(KERNEL_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(if $(KERNEL_TEST_BACKEND_C),-DHAVE_BACKEND_C) $(CFLAGS) $(WARN) -o $@ $< $(KERNEL_TEST_OBJS) $(LIBS)

.PHONY: unit-kernel
unit-kernel: $(KERNEL_TEST)
	$(KERNEL_TEST)
