# Unit test of the diff's classification with scripted backends (tests/unit/test_diff.c).
DIFF_TEST_OBJS := $(BUILD)/obj/harness/diff.o $(BUILD)/obj/harness/oracle.o $(BUILD)/obj/harness/vlog.o $(BUILD)/obj/harness/session.o $(BUILD)/obj/harness/byteorder.o $(BUILD)/obj/harness/env.o $(BUILD)/obj/harness/backend.o \
	$(BUILD)/obj/harness/backend_uvm.o $(BUILD)/obj/harness/case.o $(BUILD)/obj/harness/disasm.o $(BUILD)/obj/harness/asm.o \
	$(BUILD)/obj/harness/maps.o $(BUILD)/obj/harness/map_format.o $(BUILD)/obj/harness/helpers.o \
	$(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o $(BUILD)/obj/vm/isa.o
DIFF_TEST_SAN_OBJS := $(DIFF_TEST_OBJS:$(BUILD)/obj/%=$(BUILD)/san/%)
UNIT_TESTS += $(BUILD)/unit/test_diff $(BUILD)/unit-san/test_diff

$(BUILD)/unit/test_diff: tests/unit/test_diff.c $(DIFF_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $^
$(BUILD)/unit-san/test_diff: tests/unit/test_diff.c $(DIFF_TEST_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -o $@ $^
