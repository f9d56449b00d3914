# Unit test of the kernel backend (needs root: BPF_PROG_LOAD + BPF_PROG_TEST_RUN). Run: make unit-kernel
KERNEL_TEST := $(BUILD)/unit/test_kernel
UNIT_TESTS += $(KERNEL_TEST)
KERNEL_TEST_OBJS := $(BUILD)/obj/harness/backend_kernel.o $(BUILD)/obj/harness/kexec.o $(BUILD)/obj/harness/backend.o $(BUILD)/obj/harness/env.o \
	$(BUILD)/obj/harness/maps.o $(BUILD)/obj/harness/helpers.o $(BUILD)/obj/vm/isa.o

$(KERNEL_TEST): tests/unit/test_kernel.c $(KERNEL_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(KERNEL_TEST_OBJS) $(LIBS)

.PHONY: unit-kernel
unit-kernel: $(KERNEL_TEST)
	$(KERNEL_TEST)
