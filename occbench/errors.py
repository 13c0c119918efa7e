"""Exception types. Messages name the file or key at fault and say what was expected."""


class OccbenchError(Exception):
    """Base class for errors meant for the user (the CLI prints them without a traceback)."""


class ProtocolError(OccbenchError):
    """A protocol file is invalid: the message names the file and the key."""


class SampleError(OccbenchError):
    """One sample cannot be produced (bad file, no face, ...). A build records it and goes on."""


class RegistryError(OccbenchError, KeyError):
    """An unknown registry name."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class TransientError(OccbenchError):
    """A failure that says nothing about the sample (disk full, I/O error, out of memory): the sample is not
    recorded as skipped, and a rerun tries it again."""


TRANSIENT_ERRNOS = frozenset({5, 11, 12, 23, 24, 28, 110, 116, 122})
"""EIO, EAGAIN, ENOMEM, ENFILE, EMFILE, ENOSPC, ETIMEDOUT, ESTALE, EDQUOT: conditions of the machine, not of
the file being read or written."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it wraps) is a condition of the machine rather than of the data."""
    while exc is not None:
        if isinstance(exc, (TransientError, MemoryError)):
            return True
        if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
            return True
        exc = exc.__cause__ or exc.__context__
    return False
