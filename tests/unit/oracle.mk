# Unit tests of the verifier-state oracle: the log parser on real captured logs
# (tests/unit/vlogs/) and the judge with the uvm's trace. The capture tool is
# built under tools/, not unit/ (it needs the kernel and is not a test).
VLOG_TEST_OBJS := $(BUILD)/obj/harness/vlog.o $(BUILD)/obj/harness/case.o $(BUILD)/obj/harness/asm.o \
	$(BUILD)/obj/harness/disasm.o $(BUILD)/obj/harness/backend.o $(BUILD)/obj/harness/maps.o \
	$(BUILD)/obj/harness/map_format.o $(BUILD)/obj/harness/helpers.o $(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o \
	$(BUILD)/obj/vm/isa.o
ORACLE_TEST_OBJS := $(VLOG_TEST_OBJS) $(BUILD)/obj/harness/oracle.o $(BUILD)/obj/harness/backend_uvm.o \
	$(BUILD)/obj/harness/env.o
UNIT_TESTS += $(BUILD)/unit/test_vlog $(BUILD)/unit-san/test_vlog $(BUILD)/unit/test_oracle \
	$(BUILD)/unit-san/test_oracle

$(BUILD)/unit/test_vlog: tests/unit/test_vlog.c $(VLOG_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $^
$(BUILD)/unit-san/test_vlog: tests/unit/test_vlog.c $(VLOG_TEST_OBJS:$(BUILD)/obj/%=$(BUILD)/san/%)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -o $@ $^
$(BUILD)/unit/test_oracle: tests/unit/test_oracle.c $(ORACLE_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $^
$(BUILD)/unit-san/test_oracle: tests/unit/test_oracle.c $(ORACLE_TEST_OBJS:$(BUILD)/obj/%=$(BUILD)/san/%)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -o $@ $^

$(BUILD)/tools/vlog_capture: tests/unit/vlog_capture.c $(filter-out $(BUILD)/obj/harness/main.o,$(OBJS))
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $^ $(LIBS)
