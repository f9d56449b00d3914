# The eBPF-on-eBPF VM: vm/xdp/xdpvm.bpf.c built for the BPF target, and its libbpf skeleton.
XDP_BPF_OBJ := $(BUILD)/xdp/xdpvm.bpf.o
XDP_SKEL := $(BUILD)/xdpvm.skel.h
XDP_BPF_INC := -I/usr/include/$(shell $(CC) -print-multiarch 2>/dev/null)

$(XDP_BPF_OBJ): vm/xdp/xdpvm.bpf.c vm/xdp/xdpvm.h vm/semantics.h vm/helpers.h vm/ebpf.h | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CLANG) -O2 -g -target bpf -mcpu=v3 $(XDP_BPF_INC) -Wall -Wno-unused-function -c $< -o $@

$(XDP_SKEL): $(XDP_BPF_OBJ)
	$(BPFTOOL) gen skeleton $< name xdpvm > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/harness/backend_xdp.o $(BUILD)/san/harness/backend_xdp.o: $(XDP_SKEL)
