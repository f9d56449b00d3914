# C unit tests of the uvm (included by the top Makefile).
# Plain, ASan+UBSan, and -DUVM_MUTANTS builds; the mutant objects are also what fuzz/ links.

UVM_UNIT_OBJS := $(BUILD)/obj/tests/unit/test_uvm.o $(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o $(BUILD)/obj/vm/isa.o
UVM_UNIT_SAN_OBJS := $(BUILD)/san/tests/unit/test_uvm.o $(BUILD)/san/vm/uvm.o $(BUILD)/san/vm/maps.o $(BUILD)/san/vm/isa.o
UVM_MUT_OBJS := $(BUILD)/obj/tests/unit/test_uvm-mutants.o $(BUILD)/obj/vm/uvm-mutants.o $(BUILD)/obj/vm/maps.o $(BUILD)/obj/vm/isa.o
UVM_MUT_SAN_OBJS := $(BUILD)/san/tests/unit/test_uvm-mutants.o $(BUILD)/san/vm/uvm-mutants.o $(BUILD)/san/vm/maps.o $(BUILD)/san/vm/isa.o
UVM_UNIT_TESTS := $(BUILD)/unit/test_uvm $(BUILD)/unit-san/test_uvm \
	$(BUILD)/unit/test_uvm_mutants $(BUILD)/unit-san/test_uvm_mutants
UNIT_TESTS += $(UVM_UNIT_TESTS)

.PHONY: unit
unit: $(UVM_UNIT_TESTS)

$(BUILD)/unit/test_uvm: $(UVM_UNIT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^
$(BUILD)/unit-san/test_uvm: $(UVM_UNIT_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^
$(BUILD)/unit/test_uvm_mutants: $(UVM_MUT_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^
$(BUILD)/unit-san/test_uvm_mutants: $(UVM_MUT_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_FLAGS) -o $@ $^

# name-mutants.o: name.c built with -DUVM_MUTANTS.
$(BUILD)/obj/%-mutants.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DUVM_MUTANTS $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@
$(BUILD)/san/%-mutants.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -DUVM_MUTANTS $(SAN_FLAGS) $(WARN) -MMD -MP -c $< -o $@

-include $(UVM_UNIT_OBJS:.o=.d) $(UVM_UNIT_SAN_OBJS:.o=.d) $(UVM_MUT_OBJS:.o=.d) $(UVM_MUT_SAN_OBJS:.o=.d)
