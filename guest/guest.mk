# Guest kernels under qemu (guest/prepare.sh; README "Guest kernels").
GUEST_ARCHES := arm64 s390x ppc64le x86_64
GUEST_DIR := $(BUILD)/guest
# The agent runs cases with the host kernel backend's own harness/kexec.c.
KEXEC_C ?= harness/kexec.c
export KEXEC_C
GUEST_SRCS := guest/agent.c guest/proto.c guest/proto.h guest/prepare.sh guest/kernels.conf \
	$(KEXEC_C) $(KEXEC_C:.c=.h) vm/ebpf.h
GUEST_IMAGES := $(GUEST_ARCHES:%=$(GUEST_DIR)/%/initramfs.cpio.gz)

.PHONY: guests $(GUEST_ARCHES:%=guest-%)
# Every guest: kernel from Debian's archive, agent, initramfs (apt downloads are cached).
guests: all $(GUEST_IMAGES)
$(GUEST_ARCHES:%=guest-%): guest-%: $(GUEST_DIR)/%/initramfs.cpio.gz

$(GUEST_DIR)/%/initramfs.cpio.gz: $(GUEST_SRCS)
	@bash guest/prepare.sh $* $(GUEST_DIR)

# `make test` boots the arm64 guest (tests/test_guest.py). A machine that cannot
# prepare it skips those tests, except under CI=true, where it is an error.
.PHONY: guest-test-prep
guest-test-prep:
	@$(MAKE) --no-print-directory $(GUEST_DIR)/arm64/initramfs.cpio.gz || \
	{ [ "$$CI" != true ] && echo "make test: the arm64 guest could not be prepared; tests/test_guest.py will skip" >&2; }

# `bpfdiff guest fetch` runs prepare.sh from this checkout.
$(BUILD)/obj/harness/guest.o $(BUILD)/san/harness/guest.o: CPPFLAGS += -DBPFDIFF_SRCDIR='"$(CURDIR)"'

# The channel's framing (tests/unit/test_proto.c), plain and under ASan+UBSan.
UNIT_TESTS += $(BUILD)/unit/test_proto $(BUILD)/unit-san/test_proto
$(BUILD)/unit/test_proto: tests/unit/test_proto.c guest/proto.c guest/proto.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ tests/unit/test_proto.c guest/proto.c
$(BUILD)/unit-san/test_proto: tests/unit/test_proto.c guest/proto.c guest/proto.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -o $@ tests/unit/test_proto.c guest/proto.c
