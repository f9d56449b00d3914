# Guest kernels under qemu (guest/prepare.sh; README "Guest kernels").
GUEST_ARCHES := arm64 s390x ppc64le x86_64
GUEST_DIR := $(BUILD)/guest
GUEST_SRCS := guest/agent.c guest/proto.c guest/proto.h guest/prepare.sh guest/kernels.conf \
	harness/kexec.c harness/kexec.h vm/ebpf.h
GUEST_IMAGES := $(GUEST_ARCHES:%=$(GUEST_DIR)/%/initramfs.cpio.gz)

.PHONY: guests $(GUEST_ARCHES:%=guest-%)
# Every guest: kernel from Debian's archive, agent, initramfs (apt downloads are cached).
guests: all $(GUEST_IMAGES)
$(GUEST_ARCHES:%=guest-%): guest-%: $(GUEST_DIR)/%/initramfs.cpio.gz

$(GUEST_DIR)/%/initramfs.cpio.gz: $(GUEST_SRCS)
	@bash guest/prepare.sh $* $(GUEST_DIR)

# `bpfdiff guest fetch` runs prepare.sh from this checkout.
$(BUILD)/obj/harness/guest.o $(BUILD)/san/harness/guest.o: CPPFLAGS += -DBPFDIFF_SRCDIR='"$(CURDIR)"'
