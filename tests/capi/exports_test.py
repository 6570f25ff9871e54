#!/usr/bin/env python3
"""Checks what libhalio exports as C symbols.

    exports_test.py NM LIBHALIO_SO HALIO_H

Every function include/halio/halio.h declares (HALIO_C_API ... halio_x(...))
must be a defined dynamic symbol of the library, and no other unmangled
(C) symbol may be: the C ABI's halio_* names only, so the C symbols of what
libhalio links in (asio, liburing, simdjson) cannot clash with a program's.
C++'s mangled names (_Z...) are the C++ API and stay exported.
"""
import re
import subprocess
import sys

DECLARATION = re.compile(r"HALIO_C_API\s[^;{}]*?\b(halio_\w+)\s*\(", re.S)


def main(argv):
    if len(argv) != 4:
        print(__doc__)
        return 2
    nm, library, header = argv[1:]
    declared = set(DECLARATION.findall(open(header).read()))
    if len(declared) < 50:
        print(f"only {len(declared)} declarations found in {header}: the pattern is stale")
        return 1
    output = subprocess.run([nm, "-D", "--defined-only", library], check=True,
                            capture_output=True, text=True).stdout
    exported = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) >= 3:
            exported.add(fields[2].split("@")[0])
    c_symbols = {name for name in exported if not name.startswith("_Z")}
    missing = sorted(declared - exported)
    stray = sorted(c_symbols - declared)
    for name in missing:
        print(f"declared in halio.h but not exported: {name}")
    for name in stray:
        print(f"exported C symbol not declared in halio.h: {name}")
    if missing or stray:
        return 1
    print(f"exports: all {len(declared)} halio.h functions exported, no other C symbol "
          f"({len(exported) - len(c_symbols)} C++ symbols)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
