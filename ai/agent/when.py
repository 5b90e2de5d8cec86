"""Dates and times as customers write them ("Tuesday at 11", "le 12 décembre à 14h30",
"nächsten Freitag um 10 Uhr", "2026-12-12 10:00"), read relative to a clock.

The result says what was found and what is missing: a booking needs both a day and a time,
and "Thursday afternoon" names a day but no time, so the reply asks for the time instead of
guessing one.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

WEEKDAYS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        "monday lunes lundi montag lunedi segunda mon",
        "tuesday martes mardi dienstag martedi terca tue tues",
        "wednesday miercoles mercredi mittwoch mercoledi quarta wed",
        "thursday jueves jeudi donnerstag giovedi quinta thu thur thurs",
        "friday viernes vendredi freitag venerdi sexta fri",
        "saturday sabado samedi samstag sonnabend sat",
        "sunday domingo dimanche sonntag domenica sun",
    )
):
    for _name in _names.split():
        WEEKDAYS[_name] = _index

MONTHS: dict[str, int] = {}
for _index, _names in enumerate(
    (
        "january jan enero janvier januar gennaio janeiro",
        "february feb febrero fevrier februar febbraio fevereiro",
        "march mar marzo mars marz marco",
        "april apr abril avril aprile",
        "may mayo mai maggio maio",
        "june jun junio juin juni giugno junho",
        "july jul julio juillet juli luglio julho",
        "august aug agosto aout",
        "september sep sept septiembre setiembre septembre settembre setembro",
        "october oct octubre octobre oktober ottobre outubro",
        "november nov noviembre novembre novembro",
        "december dec diciembre decembre dezember dicembre dezembro",
    ),
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _index

RELATIVE_DAYS = {
    "today": 0,
    "hoy": 0,
    "aujourd'hui": 0,
    "aujourdhui": 0,
    "heute": 0,
    "oggi": 0,
    "hoje": 0,
    "tomorrow": 1,
    "manana": 1,
    "demain": 1,
    "morgen": 1,
    "domani": 1,
    "amanha": 1,
    "day after tomorrow": 2,
    "pasado manana": 2,
    "apres-demain": 2,
    "ubermorgen": 2,
}
_NEXT_WORDS = r"(?:next|this|coming|el proximo|el|este|le|ce|prochain|nachsten|nachster|kommenden|am|diesen)"
_WEEKDAY_RE = re.compile(
    rf"\b(?:{_NEXT_WORDS}\s+)?({'|'.join(sorted(WEEKDAYS, key=len, reverse=True))})\b\.?(?:\s+(?:prochain|next))?"
)
_MONTH_NAMES = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY_MONTH_RE = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|\.|º)?\s+(?:de\s+|of\s+)?({_MONTH_NAMES})\b\.?")
_MONTH_DAY_RE = re.compile(rf"\b({_MONTH_NAMES})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b")
_ISO_RE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[ t](\d{1,2}):(\d{2}))?")
_SLASH_RE = re.compile(r"\b(\d{1,2})[/.](\d{1,2})(?:[/.](\d{2,4}))?\b")
# 11am, 2 pm, 14:30, 14h, 14h30, 14 uhr, at 11, a las 11, à 11h, um 11, alle 11, as 11, 11.30
_TIME_RE = re.compile(
    r"(?:\b(?:at|around|about|by|a las|a la|vers|a|à|um|gegen|alle|as|ab)\s+)?"
    r"\b(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.|h\b|uhr\b|heures?\b|hrs?\b)?"
)
_TIME_LEAD_RE = re.compile(r"\b(?:at|around|about|a las|a la|vers|à|a|um|gegen|alle|as)\s+$")
_NOON = re.compile(r"\b(?:noon|midday|mediodia|midi|mittag)\b")


@dataclass(frozen=True)
class When:
    date: dt.date | None
    time: dt.time | None

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(name for name, value in (("date", self.date), ("time", self.time)) if value is None)

    def iso(self) -> str:
        """`YYYY-MM-DDTHH:MM:00`, only when both parts are known."""
        if self.date is None or self.time is None:
            return ""
        return dt.datetime.combine(self.date, self.time).strftime("%Y-%m-%dT%H:%M:00")


def fold(text: str) -> str:
    """Lower case without accents, so "miércoles" and "miercoles" read alike."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _future(date: dt.date, today: dt.date) -> dt.date:
    return date if date >= today else date.replace(year=date.year + 1)


def _safe_date(year: int, month: int, day: int) -> dt.date | None:
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _date(text: str, today: dt.date, *, day_first: bool) -> tuple[dt.date | None, tuple[int, int]]:
    if match := _ISO_RE.search(text):
        return _safe_date(int(match[1]), int(match[2]), int(match[3])), match.span()
    if match := _DAY_MONTH_RE.search(text):
        found = _safe_date(today.year, MONTHS[match[2]], int(match[1]))
        return (_future(found, today) if found else None), match.span()
    if match := _MONTH_DAY_RE.search(text):
        found = _safe_date(today.year, MONTHS[match[1]], int(match[2]))
        return (_future(found, today) if found else None), match.span()
    # A numeric date written as a date ("23.04.", "23/04", "4/23/2026") names the day more precisely
    # than a weekday next to it ("Thursday, the 23.04."); "10.30" alone is a time, not a date.
    slash = _SLASH_RE.search(text)
    if slash and (slash[3] or "/" in slash[0] or text[slash.end() : slash.end() + 1] == "."):
        found = _numeric_date(slash, today, day_first=day_first)
        if found is not None:
            return found, slash.span()
    for phrase in sorted(RELATIVE_DAYS, key=len, reverse=True):
        if match := re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text):
            return today + dt.timedelta(days=RELATIVE_DAYS[phrase]), match.span()
    if match := _WEEKDAY_RE.search(text):
        ahead = (WEEKDAYS[match[1]] - today.weekday()) % 7 or 7
        return today + dt.timedelta(days=ahead), match.span()
    if slash:
        return _numeric_date(slash, today, day_first=day_first), slash.span()
    return None, (0, 0)


def _numeric_date(match: re.Match[str], today: dt.date, *, day_first: bool) -> dt.date | None:
    first, second = int(match[1]), int(match[2])
    day, month = (first, second) if day_first else (second, first)
    year = int(match[3]) if match[3] else today.year
    year = year + 2000 if year < 100 else year
    found = _safe_date(year, month, day)
    if found is not None and not match[3]:
        found = _future(found, today)
    return found


def _time(text: str, skip: tuple[int, int]) -> dt.time | None:
    if _NOON.search(text):
        return dt.time(12, 0)
    for match in _TIME_RE.finditer(text):
        if skip[0] <= match.start(1) < skip[1]:
            continue  # a digit of the date itself
        hour, minute, suffix = int(match[1]), int(match[2] or 0), (match[3] or "").replace(".", "")
        led = bool(_TIME_LEAD_RE.search(text[: match.start(1)])) or match.group(0).strip()[:1].isalpha()
        if not (suffix or match[2] or led):
            continue  # a bare number ("2 boots") is not a time
        if match[2] and match.group(0)[match.end(1) - match.start(0)] == "." and not (suffix or led):
            continue  # "12.50" is more likely an amount than a time
        if suffix in ("pm",) and hour < 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        elif (
            not suffix
            and led
            and 1 <= hour <= 7
            and re.search(r"\b(?:afternoon|evening|tarde|apres-midi|nachmittag)", text)
        ):
            hour += 12
        if 0 <= hour <= 23 and 0 <= minute <= 59:
            return dt.time(hour, minute)
    return None


def parse_when(text: str, *, now: dt.datetime, language: str = "en") -> When:
    """The first day and time the text names, relative to `now` (days in the past roll forward)."""
    folded = fold(text)
    if (iso := _ISO_RE.search(folded)) and iso[4]:
        date = _safe_date(int(iso[1]), int(iso[2]), int(iso[3]))
        hour, minute = int(iso[4]), int(iso[5])
        return When(date=date, time=dt.time(hour, minute) if hour <= 23 and minute <= 59 else None)
    date, span = _date(folded, now.date(), day_first=language != "en")
    return When(date=date, time=_time(folded, span))
