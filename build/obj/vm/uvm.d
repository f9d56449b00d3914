build/obj/vm/uvm.o: vm/uvm.c vm/isa.h vm/ebpf.h vm/semantics.h vm/uvm.h
vm/isa.h:
vm/ebpf.h:
vm/semantics.h:
vm/uvm.h:
