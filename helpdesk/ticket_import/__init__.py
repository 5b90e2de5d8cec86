"""Tickets from what a shop already has: our JSON Lines, a Zendesk, Freshdesk or Help Scout export,
a CSV from a spreadsheet (columns mapped on the page), or a mailbox (mbox / Maildir).

One importer per format turns a file into `ImportedTicket`s (`read_tickets_file`), with a format
check up front (a clear `TicketFormatError` when the file is not what it says) and a per-row error
report (each unusable row named with its reason; the others go on). Two destinations take them:
the trial's sandbox (ai.trial.runner) and a one-off import into the live inbox
(helpdesk.ticket_import.inbox), which imports all the usable rows in one transaction or nothing.
"""

from __future__ import annotations

from helpdesk.ticket_import.base import FORMATS, ImportedMessage, ImportedTicket, ParseResult, TicketFormatError
from helpdesk.ticket_import.detect import read_tickets_file

__all__ = [
    "FORMATS",
    "ImportedMessage",
    "ImportedTicket",
    "ParseResult",
    "TicketFormatError",
    "read_tickets_file",
]
