#!/usr/bin/env bash
# Rebuilds the two shared objects the ELF linkage tests read (src/inspect/elf.rs). They are
# committed so the tests need no compiler; -z separate-code is the x86-64 default since
# binutils 2.31 and is spelled out for older linkers.
set -euo pipefail
cd "$(dirname "$0")"
gcc -O2 -shared -fPIC -Wl,-z,separate-code -Wl,-s -o libplain.so plain.c -lm
gcc -O2 -shared -fPIC -Wl,-z,separate-code -Wl,-s -o extension.so extension.c
gcc -O2 -shared -fPIC -Wl,-z,noseparate-code -Wl,-s -o libplain-noseparate.so plain.c -lm
