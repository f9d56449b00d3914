build/obj/harness/backend_kernel.o: harness/backend_kernel.c \
 harness/backend.h harness/case.h harness/../vm/ebpf.h
harness/backend.h:
harness/case.h:
harness/../vm/ebpf.h:
