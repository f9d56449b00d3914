mov %r0, %r2
lsh %r0, 16
ldxh %r3, [%r1+2]
or %r0, %r3
ldxb %r3, [%r1+17]
lsh %r3, 32
or %r0, %r3
exit
