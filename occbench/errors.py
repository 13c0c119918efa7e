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
