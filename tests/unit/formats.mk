# Unit tests of the formats: .data parser/writer, assembler, disassembler, ELF loader.
# Included from the top-level Makefile; run from the repository root:
#   build/unit/test_formats [../shared/bpf_conformance/tests [build/unit/elf_prog.bpf.o]]
FORMATS_SRCS := tests/unit/test_formats.c harness/case.c harness/asm.c harness/disasm.c harness/elf.c harness/escape.c \
	harness/backend.c vm/isa.c harness/maps.c harness/map_format.c harness/helpers.c
FORMATS_HDRS := harness/case.h harness/asm.h harness/elf.h harness/escape.h harness/backend.h vm/isa.h vm/ebpf.h \
	harness/maps.h harness/helpers.h vm/helpers.h
FORMATS_ELF := $(BUILD)/unit/elf_prog.bpf.o

$(FORMATS_ELF): tests/unit/elf_prog.bpf.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) -O2 -target bpf -c $< -o $@

$(BUILD)/unit/test_formats: $(FORMATS_SRCS) $(FORMATS_HDRS) $(FORMATS_ELF) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -DELF_PROG='"$(FORMATS_ELF)"' -o $@ $(FORMATS_SRCS) -lbpf -lelf -lz

$(BUILD)/unit-san/test_formats: $(FORMATS_SRCS) $(FORMATS_HDRS) $(FORMATS_ELF) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -DELF_PROG='"$(FORMATS_ELF)"' -o $@ $(FORMATS_SRCS) -lbpf -lelf -lz

UNIT_TESTS += $(BUILD)/unit/test_formats $(BUILD)/unit-san/test_formats

.PHONY: unit
unit: $(BUILD)/unit/test_formats $(BUILD)/unit-san/test_formats
