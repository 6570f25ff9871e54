#!/usr/bin/env python3
"""`pip install .` works: builds halio's wheel through meson-python
(pyproject.toml) into a temporary directory, unpacks it there, and imports
and uses the package from it in a fresh interpreter, away from the build
tree.

    pip_install_test.py SOURCE_ROOT

Exits 77 (skip) saying why when pip or meson-python does not import. Needs
HALIO_IO_TESTDATA (the io fixtures) for the smoke load.
"""
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

SMOKE = r"""
import os, sys
import numpy as np
import halio
prefix = sys.argv[1]
assert halio.__file__.startswith(prefix), halio.__file__
package = os.path.dirname(halio.__file__)
for stub in ("__init__.pyi", "_errors.pyi", "py.typed"):
    assert os.path.exists(os.path.join(package, stub)), stub
data = os.environ["HALIO_IO_TESTDATA"]
loaded = halio.load(os.path.join(data, "st_metadata.safetensors"))
assert sorted(loaded) == ["bias", "weight"] and loaded["bias"].dtype == np.float32
with halio.safe_open(os.path.join(data, "gguf_v2.gguf")) as f:
    assert f.keys() == ["a", "b", "c"]
try:
    halio.load(os.path.join(data, "st_bad_overlap.safetensors"))
except halio.InvalidArgumentError as error:
    assert "overlap" in str(error), error
else:
    raise AssertionError("a bad file loaded")
print("ok", halio.__file__)
"""


def main(source_root):
    for module, package in (("pip", "python3-pip"), ("mesonpy", "python3-mesonpy")):
        try:
            __import__(module)
        except ImportError as error:
            print(f"skipped: {module} does not import ({error}); apt-get install {package}")
            return 77
    with tempfile.TemporaryDirectory(prefix="halio-pip-") as scratch:
        wheels = pathlib.Path(scratch) / "wheels"
        build = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-build-isolation", "--no-deps",
             "--no-index", "-w", str(wheels), source_root],
            capture_output=True, text=True)
        if build.returncode != 0:
            print(build.stdout[-6000:], build.stderr[-6000:], sep="\n")
            print(f"FAIL: pip wheel exited {build.returncode}")
            return 1
        (wheel,) = wheels.glob("halio-*.whl")
        site = pathlib.Path(scratch) / "site"
        with zipfile.ZipFile(wheel) as archive:
            names = archive.namelist()
            archive.extractall(site)
        print(f"{wheel.name}: {len(names)} files, {wheel.stat().st_size >> 10} KiB")
        for required in ("halio/__init__.py", "halio/__init__.pyi", "halio/_errors.py"):
            if required not in names:
                print(f"FAIL: the wheel lacks {required}: {names}")
                return 1
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # not the build tree's package
        env["PYTHONPATH"] = str(site)
        smoke = subprocess.run([sys.executable, "-c", SMOKE, str(site)], env=env,
                               capture_output=True, text=True, cwd=scratch)
        print(smoke.stdout, smoke.stderr, sep="")
        if smoke.returncode != 0:
            print("FAIL: the installed package did not work")
            return 1
    print("pip_install: 1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1]))
