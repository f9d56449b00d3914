# Unit test of the xdp backend (needs root: BPF_PROG_TEST_RUN). Run: make unit-xdp
XDP_TEST := $(BUILD)/unit/test_xdp
UNIT_TESTS += $(XDP_TEST)
# harness/backend.c (bd_status_name, bd_result_reset, bd_run_opts_default) when it exists; else the test's stand-ins.
XDP_TEST_BACKEND_C := $(wildcard harness/backend.c)
XDP_TEST_OBJS := $(BUILD)/obj/harness/backend_xdp.o $(BUILD)/obj/vm/isa.o $(XDP_TEST_BACKEND_C:%.c=$(BUILD)/obj/%.o)

$(XDP_TEST): tests/unit/test_xdp.c $(XDP_TEST_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(if $(XDP_TEST_BACKEND_C),-DHAVE_BACKEND_C) $(CFLAGS) $(WARN) -o $@ $< $(XDP_TEST_OBJS) $(LIBS)

.PHONY: unit-xdp
unit-xdp: $(XDP_TEST)
	$(XDP_TEST)
