"""The one reading of a YYYY-MM-DD field (index.common.dates) and its error naming the field."""

from __future__ import annotations

from datetime import date

import pytest

from index.common.dates import parse_day, to_date, try_date
from index.common.errors import InputError
from index.publication import iso_date

pytestmark = pytest.mark.fast


def test_only_a_real_day_written_yyyy_mm_dd_is_a_day() -> None:
    assert try_date("2024-03-04") == date(2024, 3, 4)
    for text in ("2024-02-30", "2024-13-01", "2024-3-4", "20240304", "2024-W10-1", "04/03/2024",
                 " 2024-03-04", "2024-03-04T10:00", "", "٢٠٢٤-٠٣-٠٤"):
        assert try_date(text) is None, text


def test_parse_day_names_the_field_it_refuses() -> None:
    assert parse_day("2024-03-04", "date") == "2024-03-04"
    assert parse_day(None, "date") is None and parse_day("", "date") is None
    with pytest.raises(InputError, match=r"^date_to must be a date YYYY-MM-DD, got '2024-02-30'$"):
        parse_day("2024-02-30", "date_to")
    with pytest.raises(InputError, match=r"^--date must be a date YYYY-MM-DD, got 20240304$"):
        parse_day(20240304, "--date")


def test_to_date_takes_a_date_or_a_day() -> None:
    assert to_date(date(2024, 3, 4), "as_of") == to_date("2024-03-04", "as_of") == date(2024, 3, 4)
    with pytest.raises(InputError, match="as_of must be a date YYYY-MM-DD, got 'yesterday'"):
        to_date("yesterday", "as_of")


def test_a_sidecar_date_may_have_spaces_around_it() -> None:
    assert iso_date(" 2024-03-04 ") == "2024-03-04"
    assert iso_date("2024-02-30") is None
