build/obj/vm/isa.o: vm/isa.c vm/isa.h vm/ebpf.h
vm/isa.h:
vm/ebpf.h:
