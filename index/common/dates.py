"""The one reading of a day written YYYY-MM-DD, for every field that takes one: a question's
`as_of`, the date filters, an upload's or a sidecar's `date`, a test set's `as_of`, a stored
report's date.

Exactly four-digit year, two-digit month and day, and a real day: the form docs/interface.md and README.md
document, so "2024-02-30", "04/03/2024" and "20240304" are refused alike rather than some of them
being read.
"""

from __future__ import annotations

import re
from datetime import date

from index.common.errors import InputError

# ASCII digits only: `\d` would also take other scripts' digits, which `int` reads.
_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def try_date(value: str) -> date | None:
    """The day `value` names when it is exactly YYYY-MM-DD and a real day, else None."""
    match = _DAY.fullmatch(value)
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:  # month 13, February 30
        return None


def to_date(value: object, field: str) -> date:
    """`value` as a date (a date is returned as it is); InputError naming `field` when it is not
    a date or a YYYY-MM-DD string."""
    if isinstance(value, date):
        return value
    day = try_date(value) if isinstance(value, str) else None
    if day is None:
        raise InputError(f"{field} must be a date YYYY-MM-DD, got {value!r}")
    return day


def parse_day(value: object, field: str) -> str | None:
    """A caller's optional YYYY-MM-DD field: None when it is None or empty, else the day as
    YYYY-MM-DD; InputError naming `field` when it is not one ("date_to must be a date
    YYYY-MM-DD, got '2024-02-30'")."""
    if value is None or value == "":
        return None
    return to_date(value, field).isoformat()
