#!/usr/bin/env python3
"""Fails on any include that points up halio's layer order (src/README.md).

    base -> platform -> async -> hal -> drivers -> io -> capi -> tools
    formats (src/io/formats) depends on base only.

Each library sees include/ and its own folder, plus the folders of the layers
below it, so an #include "name.h" is resolved the way the compiler would:
the including file's folder first, then each layer folder. The include is an
error when the layer it resolves to is not one the including layer may use,
when it resolves to nothing (a repository-root path such as
"src/hal/buffer_storage.h" no longer works), or when two layers have a header
of that name (the order of -I flags would decide). Also checked: public
headers include only <...> and "halio/...", and liburing/asio/curl headers appear
only in their engine's folder.

    layering_test.py SOURCE_ROOT     check the tree, print every violation
    layering_test.py --self-test     plant violations in a copy, expect each found
"""
import pathlib
import re
import shutil
import sys
import tempfile

# Layer folders, lowest first, and the layers each may include from.
LAYERS = {
    "base": "src/base",
    "platform": "platform",
    "async": "src/async",
    "hal": "src/hal",
    "drivers": "src/drivers",
    "formats": "src/io/formats",
    "io": "src/io",
    "capi": "src/capi",
    "tools": "src/tools",
    "python": "python",  # the extension module: public headers only
}
ALLOWED = {
    "base": {"base"},
    "platform": {"base", "platform"},
    "async": {"base", "platform", "async"},
    "hal": {"base", "platform", "async", "hal"},
    "drivers": {"base", "platform", "async", "hal", "drivers"},
    "formats": {"base", "formats"},
    "io": {"base", "platform", "async", "hal", "drivers", "formats", "io"},
    "capi": {"base", "platform", "async", "hal", "drivers", "formats", "io", "capi"},
    "tools": {"base", "platform", "async", "hal", "drivers", "formats", "io", "capi", "tools"},
    "python": {"python"},
}
# Third-party headers that must stay inside one folder.
PRIVATE_SYSTEM_HEADERS = {
    "liburing": "src/async/uring",
    "asio": "src/async/asio",
    "curl": "src/async/curl",  # libcurl: remote files' transfer engine
    # The CUDA toolkit's: only the cuda device's folder may need its headers.
    "cuda": "src/drivers/cuda",
    "cuda_runtime": "src/drivers/cuda",
    "cuda_runtime_api": "src/drivers/cuda",
}
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^">]+)[">]', re.M)
SOURCE_SUFFIXES = {".h", ".cc", ".c", ".cpp", ".cu"}
GENERATED = {"halio_config.h"}  # src/base/meson.build writes it into base's build dir


def layer_of(root, path):
    """The layer a file belongs to: the longest layer folder containing it."""
    relative = path.relative_to(root).as_posix()
    best = None
    for layer, folder in LAYERS.items():
        if relative.startswith(folder + "/") and (best is None or
                                                   len(folder) > len(LAYERS[best])):
            best = layer
    return best


def resolve(root, including, name):
    """Layers whose folder (or the including file's folder) holds `name`."""
    if (including.parent / name).is_file():
        return {layer_of(root, (including.parent / name))}
    found = set()
    for layer, folder in LAYERS.items():
        candidate = root / folder / name
        if candidate.is_file() and layer_of(root, candidate) == layer:
            found.add(layer)
    return found


def check_file(root, path):
    errors = []
    relative = path.relative_to(root).as_posix()
    text = path.read_text(errors="replace")
    layer = layer_of(root, path)
    public = relative.startswith("include/")
    for match in INCLUDE.finditer(text):
        kind, name = match.group(1), match.group(2)
        line = text.count("\n", 0, match.start()) + 1
        close = '"' if kind == '"' else ">"
        where = f"{relative}:{line}: #include {kind}{name}{close}"
        if kind == "<":
            top = name.split("/")[0].split(".")[0]
            folder = PRIVATE_SYSTEM_HEADERS.get(top)
            if folder and not relative.startswith(folder + "/"):
                errors.append(f"{where}: {top} headers belong in {folder}/ only")
            continue
        if name.startswith("halio/"):
            continue
        if public:
            errors.append(f"{where}: a public header may include only halio/... and "
                          "system headers")
            continue
        if name in GENERATED:
            continue
        layers = resolve(root, path, name)
        if not layers:
            errors.append(f"{where}: resolves to no header in this file's folder or a "
                          "layer folder (write it relative to its layer's folder)")
        elif len(layers) > 1:
            errors.append(f"{where}: ambiguous, {sorted(layers)} all have it; rename one")
        else:
            target = layers.pop()
            if layer is not None and target not in ALLOWED[layer]:
                errors.append(f"{where}: {layer} includes {target}, which is above it "
                              f"(may use: {', '.join(sorted(ALLOWED[layer]))})")
    return errors


def check_tree(root):
    root = pathlib.Path(root).resolve()
    errors = []
    checked = 0
    for top in ["include"] + sorted(set(LAYERS.values())):
        for path in sorted((root / top).rglob("*")):
            if path.suffix in SOURCE_SUFFIXES and path.is_file():
                checked += 1
                errors.extend(check_file(root, path))
    return checked, sorted(set(errors))


def self_test():
    """Copies the tree, plants one violation of each kind, expects each reported."""
    source = pathlib.Path(__file__).resolve().parent.parent
    plants = {
        "src/base/status.cc": '#include "buffer_storage.h"\n',       # base -> hal
        "src/io/formats/tensor_ranges.cc": '#include "fd_io.h"\n',    # formats -> platform
        "src/hal/buffer.cc": '#include "src/hal/buffer_storage.h"\n',  # root-relative path
        "include/halio/file.h": '#include "fd_io.h"\n',                # public -> internal
        "src/drivers/registry.cc": "#include <liburing.h>\n",          # liburing outside
        "src/hal/remote_file.cc": "#include <curl/curl.h>\n",         # libcurl outside
    }
    expected = ["base includes hal", "formats includes platform", "resolves to no header",
                "a public header may include only", "liburing headers belong",
                "curl headers belong"]
    with tempfile.TemporaryDirectory() as scratch:
        copy = pathlib.Path(scratch) / "halio"
        for top in ["include", "src", "platform"]:
            shutil.copytree(source / top, copy / top)
        _, clean = check_tree(copy)
        if clean:
            print("self-test: the unmodified copy already has violations:", *clean, sep="\n  ")
            return 1
        for relative, line in plants.items():
            path = copy / relative
            path.write_text(line + path.read_text())
        _, errors = check_tree(copy)
        missing = [want for want in expected if not any(want in e for e in errors)]
        if missing:
            print("self-test: planted violations not reported:", *missing, sep="\n  ")
            print("reported:", *errors, sep="\n  ")
            return 1
    print(f"self-test: all {len(expected)} planted violations reported")
    return 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if len(argv) != 2:
        print(__doc__)
        return 2
    checked, errors = check_tree(argv[1])
    for error in errors:
        print(error)
    if errors:
        print(f"layering: {len(errors)} include(s) break the layer order "
              "base -> platform -> async -> hal -> drivers -> io -> capi -> tools (src/README.md)")
        return 1
    print(f"layering: {checked} files, every include points down the layer order")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
