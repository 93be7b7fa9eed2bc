"""glog time stamps as integer microseconds: the one clock arithmetic the line and fast paths share.

Integers, so that differences are exact, as parse_log.py's datetime arithmetic is; both the run
builder (runs.py) and the fast path's row encoding (fast/render.py) count a run's seconds with
these functions, which is what keeps their results the same.
"""

from __future__ import annotations

import datetime as _dt

DAY_US = 86400 * 10**6
TURN_US = 180 * DAY_US  # a clock this far back means the (unprinted) year turned over
YEAR_US = 366 * DAY_US


def day(date: str, cache: dict[str, int]) -> int:
    """Day number of a glog date 'mmdd' or 'yyyymmdd' (0 if it is no date)."""
    number = cache.get(date)
    if number is None:
        try:
            if len(date) == 8:
                number = _dt.date(int(date[:4]), int(date[4:6]), int(date[6:])).toordinal()
            else:  # classic glog has no year; a leap year accepts every mmdd
                number = _dt.date(2000, int(date[:2]), int(date[2:])).toordinal()
        except ValueError:
            number = 0
        cache[date] = number
    return number


def clock_us(clock: str) -> int:
    """Microseconds into the day of 'hh:mm:ss.ffffff' (digits past the sixth are dropped)."""
    return ((int(clock[0:2]) * 60 + int(clock[3:5])) * 60 + int(clock[6:8])) * 10**6 + int((clock[9:] + "00000")[:6])


def stamp(text: str, cache: dict[str, int]) -> tuple[int, int]:
    """(day number, microseconds into the day) for a glog stamp 'mmdd hh:mm:ss.us' or 'yyyymmdd ...'."""
    date, _, clock = text.partition(" ")
    return day(date, cache), clock_us(clock)
