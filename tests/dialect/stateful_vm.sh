#!/bin/sh
# A plugin VM that keeps state across loads: each run returns one more than
# the last, counted in $STATEFUL_VM_COUNTER. `-- unload` must catch it.
cat > /dev/null
n=$(cat "$STATEFUL_VM_COUNTER" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$STATEFUL_VM_COUNTER"
printf '0x%x\n' "$n"
