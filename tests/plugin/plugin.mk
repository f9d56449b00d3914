# Test plugins for tests/test_plugin.py (included by the top Makefile).
# jitcrash: a JIT with a crash bug on one instruction pattern; uvm answers otherwise.
JITCRASH := $(BUILD)/plugin/jitcrash
TEST_PLUGINS := $(JITCRASH)

$(JITCRASH): tests/plugin/jitcrash.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -DBPFDIFF_PATH='"$(abspath $(BUILD))/bpfdiff"' -o $@ $<
