# Unit test of the xdp backend (needs root: BPF_PROG_TEST_RUN). Run: make unit-xdp
# Plain build (every case also run on the uvm: results must agree exactly) and an ASan+UBSan build.
XDP_TEST := $(BUILD)/unit/test_xdp
XDP_TEST_SAN := $(BUILD)/unit-san/test_xdp
UNIT_TESTS += $(XDP_TEST) $(XDP_TEST_SAN)
# harness/backend_uvm.c when it exists: the plain build cross-checks every case against the uvm.
XDP_TEST_UVM_C := $(wildcard harness/backend_uvm.c)
XDP_TEST_OBJS := $(BUILD)/obj/harness/backend_xdp.o $(BUILD)/obj/vm/isa.o $(BUILD)/obj/vm/uvm.o $(BUILD)/obj/vm/maps.o \
	$(BUILD)/obj/harness/backend.o $(BUILD)/obj/harness/env.o $(BUILD)/obj/harness/maps.o $(BUILD)/obj/harness/helpers.o \
	$(XDP_TEST_UVM_C:%.c=$(BUILD)/obj/%.o)
XDP_TEST_SAN_OBJS := $(BUILD)/san/harness/backend_xdp.o $(BUILD)/san/vm/isa.o $(BUILD)/san/vm/uvm.o $(BUILD)/san/vm/maps.o \
	$(BUILD)/san/harness/backend.o $(BUILD)/san/harness/env.o $(BUILD)/san/harness/maps.o $(BUILD)/san/harness/helpers.o

$(XDP_TEST): tests/unit/test_xdp.c $(XDP_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(if $(XDP_TEST_UVM_C),-DHAVE_BACKEND_UVM) \
		$(CFLAGS) $(WARN) -o $@ $< $(XDP_TEST_OBJS) $(LIBS)

$(XDP_TEST_SAN): tests/unit/test_xdp.c $(XDP_TEST_SAN_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -o $@ $< $(XDP_TEST_SAN_OBJS) $(LIBS)

.PHONY: unit-xdp
unit-xdp: $(XDP_TEST) $(XDP_TEST_SAN)
	$(XDP_TEST)
	$(XDP_TEST_SAN)
