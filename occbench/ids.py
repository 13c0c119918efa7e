"""Sample ids: checked wherever they enter occbench, since they become file names.

An id is 1-200 characters of letters, digits, ``.``, ``_`` and ``-`` that starts with a letter or digit, so
it can never name a folder, climb out of one (``../x``) or be hidden. Ids made by occbench's sources always
pass; a crafted or damaged manifest does not.
"""

from __future__ import annotations

import re

from occbench.errors import OccbenchError

SAMPLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def check_sample_id(value: object, where: str) -> str:
    """``value`` if it is a valid id; otherwise OccbenchError naming ``where`` (a file and row)."""
    if not isinstance(value, str) or not SAMPLE_ID.fullmatch(value):
        raise OccbenchError(f"{where}: {value!r} is not a valid sample id; Expected 1-200 letters, digits, '.', '_' "
                            "or '-' starting with a letter or digit")
    return value
