"""The package's surface: docstrings for help(), stubs beside the module, error classes."""
import os
import pydoc

import halio


def test_help_shows_the_api():
    text = pydoc.render_doc(halio, renderer=pydoc.plaintext)
    for needle in ("load(paths", "safe_open", "select", "mmap", "progress", "NotFoundError"):
        assert needle in text, needle
    assert "Ctrl-C" in halio.load.__doc__ and "KeyError" in halio.NotFoundError.__doc__ + \
        halio._errors.__doc__


def test_stubs_are_installed_with_the_module():
    package = os.path.dirname(halio.__file__)
    for name in ("__init__.pyi", "_errors.pyi", "py.typed"):
        assert os.path.exists(os.path.join(package, name)), name
    stub = open(os.path.join(package, "__init__.pyi")).read()
    for name in halio.__all__:
        assert name in stub, name


def test_error_classes_are_also_the_builtin_ones():
    pairs = {halio.NotFoundError: (FileNotFoundError, KeyError),
             halio.PermissionDeniedError: (PermissionError,),
             halio.InvalidArgumentError: (ValueError,), halio.OutOfRangeError: (ValueError,),
             halio.ResourceExhaustedError: (MemoryError,),
             halio.UnavailableError: (RuntimeError,)}
    for cls, builtins in pairs.items():
        error = cls("message")
        assert isinstance(error, halio.Error) and all(isinstance(error, b) for b in builtins)
        assert str(error) == f"{error.code_name}: message" and error.errno is None \
            if isinstance(error, OSError) else str(error) == f"{error.code_name}: message"
    assert halio.NotFoundError.__module__ == "halio"
