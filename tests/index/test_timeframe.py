"""Relative dates in questions, resolved against a fixed `as_of` (a Wednesday)."""

from __future__ import annotations

from datetime import date

import pytest

from index.timeframe import Timeframe, read

pytestmark = pytest.mark.fast

AS_OF = date(2024, 5, 15)  # Wednesday


def resolve(question: str, as_of: date) -> Timeframe | None:
    return read(question, as_of)[0]


def strip(question: str, as_of: date) -> str:
    return read(question, as_of)[1]


@pytest.mark.parametrize(
    "question, start, end",
    [
        ("What happened yesterday?", "2024-05-14", "2024-05-14"),
        ("Who resigned today?", "2024-05-15", "2024-05-15"),
        ("What did the minister say last week?", "2024-05-06", "2024-05-12"),
        ("Any floods this week?", "2024-05-13", "2024-05-15"),
        ("What was announced on Monday?", "2024-05-13", "2024-05-13"),
        ("What was announced on Wednesday?", "2024-05-15", "2024-05-15"),
        ("What was announced last Wednesday?", "2024-05-08", "2024-05-08"),
        ("Who won on Friday?", "2024-05-10", "2024-05-10"),
        ("What did the bank report in May?", "2024-05-01", "2024-05-15"),
        ("What did the bank report in June?", "2023-06-01", "2023-06-30"),
        ("What did the bank report in June 2022?", "2022-06-01", "2022-06-30"),
        ("How many jobs were cut this year?", "2024-01-01", "2024-05-15"),
        ("How many jobs were cut last year?", "2023-01-01", "2023-12-31"),
        ("Who was elected in 2021?", "2021-01-01", "2021-12-31"),
        ("What happened last month?", "2024-04-01", "2024-04-30"),
        ("What happened in the past 3 days?", "2024-05-12", "2024-05-15"),
        ("What happened on March 3?", "2024-03-03", "2024-03-03"),
        ("What happened on December 24?", "2023-12-24", "2023-12-24"),
        ("What happened on January 5, 2022?", "2022-01-05", "2022-01-05"),
        ("What has changed since March?", "2024-03-01", "2024-05-15"),
        ("What happened with the strike since March 3, 2024?", "2024-03-03", "2024-05-15"),
    ],
)
def test_resolves_relative_dates(question: str, start: str, end: str) -> None:
    frame = resolve(question, AS_OF)
    assert frame is not None, question
    assert (frame.start.isoformat(), frame.end.isoformat()) == (start, end)


def test_last_month_in_january_is_december_of_the_year_before() -> None:
    frame = resolve("What happened last month?", date(2024, 1, 10))
    assert (frame.start, frame.end) == (date(2023, 12, 1), date(2023, 12, 31))


@pytest.mark.parametrize("question", [
    "Who did the Pentagon blame?", "How many people may be affected?", "What is the 2021 budget?",
    "Who was appointed chief executive of Apex Energy?", "What will happen in 2030?",
])
def test_no_time_expression(question: str) -> None:
    assert resolve(question, AS_OF) is None


def test_strip_removes_the_phrase_for_retrieval() -> None:
    assert strip("What did the minister say last week?", AS_OF) == "What did the minister say?"
    assert strip("Yesterday, who won?", AS_OF) == "who won?"
    assert strip("Who did the Pentagon blame?", AS_OF) == "Who did the Pentagon blame?"
    assert strip("What happened in the past 3 days in Halford?", AS_OF) == "What happened in Halford?"
    # named days, months and years are words reports use too: they stay
    assert strip("What happened on Monday in Halford?", AS_OF) == "What happened on Monday in Halford?"
    assert strip("Who won in May 2021?", AS_OF) == "Who won in May 2021?"


def test_a_time_frame_reaching_before_the_calendar_is_clamped() -> None:
    frame = resolve("What happened in the past 5000 years?", AS_OF)
    assert frame is not None and (frame.start, frame.end) == (date.min, AS_OF)
    frame = resolve("What happened in the past 999999999999 years?", AS_OF)
    assert frame is not None and frame.start == date.min


@pytest.mark.parametrize("question, as_of", [
    ("What happened last week?", date(1, 1, 3)),
    ("What happened 5000 years ago?", AS_OF),
    ("What happened last year?", date(1, 6, 1)),
    ("What happened last month?", date(1, 1, 10)),
])
def test_a_time_frame_outside_the_calendar_is_ignored(question: str, as_of: date) -> None:
    assert resolve(question, as_of) is None
    assert strip(question, as_of) == question
