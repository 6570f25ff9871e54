#!/usr/bin/env python3
"""Runs the halio pytest suite for `meson test` (suite `python`).

    run_pytest.py TESTS_DIR [PYTEST ARGS...] [--gtest_output=xml:FILE]

Exits 77 (skip) saying why when pytest or the halio module does not import.
meson's gtest protocol passes --gtest_output=xml:FILE; the JUnit report
pytest writes there lets meson (and dev.sh's summary) count each test case.
A run that collects no test fails (pytest's exit 5).
"""
import sys


def main(argv):
    try:
        import pytest
    except ImportError as error:
        print(f"skipped: pytest does not import ({error}); apt-get install python3-pytest")
        return 77
    try:
        import halio  # noqa: F401: PYTHONPATH points at the build tree's package
    except ImportError as error:
        print(f"skipped: the halio module does not import ({error}); build with -Dpython=enabled")
        return 77
    args = ["-q", "-rs", "-p", "no:cacheprovider"]
    for arg in argv:
        if arg.startswith("--gtest_output=xml:"):
            args.append("--junitxml=" + arg[len("--gtest_output=xml:"):])
        else:
            args.append(arg)
    status = pytest.main(args)
    return 1 if status == pytest.ExitCode.NO_TESTS_COLLECTED else int(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
