"""Which importer reads a file: the one asked for, or the one its name and shape point to."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from pathlib import Path

from django.conf import settings

from helpdesk.helpcenter_import import ImportFileError, unpack_zip
from helpdesk.ticket_import.base import FORMATS, ParseResult, TicketFormatError
from helpdesk.ticket_import.csv_table import parse_csv
from helpdesk.ticket_import.helpdesks import parse_freshdesk, parse_helpscout, parse_zendesk, sniff_json
from helpdesk.ticket_import.jsonl import parse_jsonl
from helpdesk.ticket_import.mailbox_threads import parse_mailbox

MAX_TICKETS_FILE_BYTES: int = getattr(settings, "OASIS_MAX_TICKETS_FILE_BYTES", 200 * 1024 * 1024)
TEXT_READERS = {
    "jsonl": parse_jsonl,
    "zendesk": parse_zendesk,
    "freshdesk": parse_freshdesk,
    "helpscout": parse_helpscout,
}


def read_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_TICKETS_FILE_BYTES:
        raise TicketFormatError(f"{path.name} is {size:,} bytes; the limit is {MAX_TICKETS_FILE_BYTES:,}")
    data = path.read_bytes()
    if not data.strip():
        raise TicketFormatError(f"{path.name} is empty")
    if b"\x00" in data:
        raise TicketFormatError(f"{path.name} is a binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TicketFormatError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None


def detect_format(path: Path) -> str:
    """The format a file's name and first bytes point to; TicketFormatError when none fits."""
    if path.is_dir():
        return "maildir"
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    with path.open("rb") as fh:
        head = fh.read(5)
    if suffix == ".mbox" or head == b"From ":
        return "mbox"
    if suffix in (".jsonl", ".ndjson"):
        # One ticket a line: our own format, unless the first line is a Zendesk ticket (its export).
        first = next((line for line in read_text(path).splitlines() if line.strip()), "")
        return "zendesk" if sniff_json(first) == "zendesk" else "jsonl"
    if suffix in (".json", ".txt", ""):
        found = sniff_json(read_text(path))
        if found:
            return found
    raise TicketFormatError(
        f"{path.name}: cannot tell the format; choose one of {', '.join(FORMATS)} "
        "(JSON Lines, a Zendesk/Freshdesk/Help Scout export, a CSV, an mbox file or a Maildir .zip)"
    )


def _maildir_in(folder: Path) -> Path | None:
    """The Maildir unpacked from a .zip: a zip keeps no empty folder, so a Maildir whose cur/ (or
    new/) was empty arrives without it; it is made again here, in the unpacked copy only."""
    for candidate in (folder, *sorted(p for p in folder.rglob("*") if p.is_dir())):
        if (candidate / "cur").is_dir() or (candidate / "new").is_dir():
            for sub in ("cur", "new", "tmp"):
                (candidate / sub).mkdir(exist_ok=True)
            return candidate
    return None


def read_tickets_file(
    path: Path | str,
    *,
    fmt: str = "auto",
    csv_mapping: dict[str, str] | None = None,
    support_addresses: Iterable[str] = (),
) -> ParseResult:
    """Every usable ticket of the file and one error per unusable row; TicketFormatError when the
    file as a whole cannot be read as `fmt` (or, with "auto", as any format)."""
    path = Path(path)
    if not path.exists():
        raise TicketFormatError(f"{path}: no such file or folder")
    if fmt not in ("auto", *FORMATS):
        raise TicketFormatError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if path.is_file() and path.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="tickets-") as tmp:
            try:
                unpack_zip(path, Path(tmp))
            except ImportFileError as exc:
                raise TicketFormatError(str(exc)) from None
            maildir = _maildir_in(Path(tmp))
            files = [p for p in Path(tmp).rglob("*") if p.is_file()]
            if maildir is not None:
                return parse_mailbox(maildir, support_addresses=support_addresses, source=path.name)
            if len(files) == 1:
                return read_tickets_file(
                    files[0], fmt=fmt, csv_mapping=csv_mapping, support_addresses=support_addresses
                )
            raise TicketFormatError(f"{path.name}: a .zip must hold a Maildir (cur/ and new/) or a single file")
    chosen = detect_format(path) if fmt == "auto" else fmt
    if chosen in ("mbox", "maildir"):
        return parse_mailbox(path, support_addresses=support_addresses, source=path.name)
    if path.is_dir():
        raise TicketFormatError(f"{path.name} is a folder; {chosen} is a file format")
    text = read_text(path)
    if chosen == "csv":
        return parse_csv(text, mapping=csv_mapping, source=path.name)
    return TEXT_READERS[chosen](text, source=path.name)
