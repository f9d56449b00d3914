build/obj/harness/backend_xdp.o: harness/backend_xdp.c harness/backend.h \
 harness/case.h harness/../vm/ebpf.h vm/isa.h vm/ebpf.h vm/semantics.h \
 vm/uvm.h build/xdpvm.skel.h
harness/backend.h:
harness/case.h:
harness/../vm/ebpf.h:
vm/isa.h:
vm/ebpf.h:
vm/semantics.h:
vm/uvm.h:
build/xdpvm.skel.h:
