"""halio's exceptions: one per halio status code, each an ``halio.Error``.

Every error halio reports is an ``halio.Error`` carrying the C++ status:
``code`` (the number, as absl/IREE number them), ``code_name`` ("NOT_FOUND")
and ``message`` (the C++ message, word for word); ``str(error)`` is
``"CODE_NAME: message"``, what ``halio::Status::ToString()`` prints.

Where a Python built-in exception means the same, the subclass is that too,
so idiomatic ``except`` clauses work:

====================  =====================================================
code                  class (and the built-ins it also is)
====================  =====================================================
NOT_FOUND             NotFoundError (FileNotFoundError, KeyError): a missing
                      file, a tensor name not in the file, a select glob
                      that matches nothing
PERMISSION_DENIED     PermissionDeniedError (PermissionError)
INVALID_ARGUMENT      InvalidArgumentError (ValueError): a malformed file,
                      a bad argument
OUT_OF_RANGE          OutOfRangeError (ValueError): a range past a file's end
RESOURCE_EXHAUSTED    ResourceExhaustedError (MemoryError)
UNAVAILABLE           UnavailableError (RuntimeError): a device or backend
                      that cannot run here (the message says why)
CANCELLED             CancelledError
other codes           Error
====================  =====================================================

A load stopped by Ctrl-C raises KeyboardInterrupt, and one stopped by an
exception from the progress callback raises that exception: the cause, not a
CancelledError.
"""

__all__ = [
    "Error", "NotFoundError", "PermissionDeniedError", "InvalidArgumentError",
    "OutOfRangeError", "ResourceExhaustedError", "UnavailableError", "CancelledError",
]

# halio::StatusCode, numbered as absl::StatusCode.
CODE_NAMES = {
    0: "OK", 1: "CANCELLED", 2: "UNKNOWN", 3: "INVALID_ARGUMENT", 4: "DEADLINE_EXCEEDED",
    5: "NOT_FOUND", 6: "ALREADY_EXISTS", 7: "PERMISSION_DENIED", 8: "RESOURCE_EXHAUSTED",
    9: "FAILED_PRECONDITION", 10: "ABORTED", 11: "OUT_OF_RANGE", 12: "UNIMPLEMENTED",
    13: "INTERNAL", 14: "UNAVAILABLE", 15: "DATA_LOSS",
}


class Error(Exception):
    """An error halio reported: ``code``, ``code_name`` and ``message``."""

    default_code = 2  # UNKNOWN; each subclass has its own

    def __init__(self, message, code=None, code_name=None):
        # One positional argument only: OSError subclasses read two as
        # (errno, strerror).
        super().__init__(message)
        code = self.default_code if code is None else code
        self.code = code
        self.code_name = code_name or CODE_NAMES.get(code, "UNKNOWN_CODE")
        self.message = message

    def __str__(self):
        return f"{self.code_name}: {self.message}"

    def __reduce__(self):
        return (type(self), (self.message, self.code, self.code_name))


class NotFoundError(Error, FileNotFoundError, KeyError):
    """NOT_FOUND: a missing file, tensor name, or a select glob matching nothing."""
    default_code = 5


class PermissionDeniedError(Error, PermissionError):
    """PERMISSION_DENIED: a file the process may not open, or memory it may not write."""
    default_code = 7


class InvalidArgumentError(Error, ValueError):
    """INVALID_ARGUMENT: a malformed parameter file or a bad argument."""
    default_code = 3


class OutOfRangeError(Error, ValueError):
    """OUT_OF_RANGE: a tensor or range past the end of its file."""
    default_code = 11


class ResourceExhaustedError(Error, MemoryError):
    """RESOURCE_EXHAUSTED: memory (host or device) could not be had."""
    default_code = 8


class UnavailableError(Error, RuntimeError):
    """UNAVAILABLE: a device or I/O backend that cannot run here; the message says why."""
    default_code = 14


class CancelledError(Error):
    """CANCELLED: the operation was cancelled."""
    default_code = 1


_CLASSES = (NotFoundError, PermissionDeniedError, InvalidArgumentError, OutOfRangeError,
            ResourceExhaustedError, UnavailableError, CancelledError)
_BY_CODE = {cls.default_code: cls for cls in _CLASSES}
for _cls in (Error,) + _CLASSES:
    _cls.__module__ = "halio"  # as users name them: halio.NotFoundError


def from_status(code, code_name, message):
    """The exception for a halio status (called by halio._halio)."""
    return _BY_CODE.get(code, Error)(message, code, code_name)
