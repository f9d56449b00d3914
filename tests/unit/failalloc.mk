# LD_PRELOAD fault injection for the tests (tests/unit/failalloc.c).
FAILALLOC := $(BUILD)/testlib/failalloc.so
UNIT_TESTS += $(FAILALLOC)
$(FAILALLOC): tests/unit/failalloc.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -shared -fPIC -o $@ $< -ldl
