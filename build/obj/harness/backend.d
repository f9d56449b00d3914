build/obj/harness/backend.o: harness/backend.c harness/backend.h \
 harness/case.h harness/../vm/ebpf.h harness/../vm/uvm.h \
 harness/../vm/ebpf.h
harness/backend.h:
harness/case.h:
harness/../vm/ebpf.h:
harness/../vm/uvm.h:
harness/../vm/ebpf.h:
