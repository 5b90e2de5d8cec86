"""A cap on multipart uploads, enforced before anything is written to disk.

Django's DATA_UPLOAD_MAX_MEMORY_SIZE covers form fields only, and FILE_UPLOAD_MAX_MEMORY_SIZE
only decides memory or a temporary file: a file of any size is accepted and spooled to disk.
`CappedUploadHandler` runs first in FILE_UPLOAD_HANDLERS: it refuses a request whose declared
length is over `settings.OASIS_MAX_UPLOAD_BYTES` before reading a byte, and stops one that
streams past it (a missing or lying Content-Length) at the chunk that crosses the cap.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadhandler import FileUploadHandler


class UploadTooLarge(RequestDataTooBig):
    """The upload is over the cap (a 413 from the edge middleware, a 400 anywhere else)."""


def upload_limit() -> int:
    return int(settings.OASIS_MAX_UPLOAD_BYTES)


def too_large_message(limit: int) -> str:
    return f"The upload is larger than the {limit // (1024 * 1024)} MB limit."


class CappedUploadHandler(FileUploadHandler):
    def __init__(self, request: Any = None) -> None:
        super().__init__(request)
        self.limit = upload_limit()
        self.received = 0

    def handle_raw_input(
        self, input_data: Any, META: dict[str, Any], content_length: int, boundary: str, encoding: str | None = None
    ) -> None:
        if content_length > self.limit:
            raise UploadTooLarge(too_large_message(self.limit))

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self._discard_partial_files()
            raise UploadTooLarge(too_large_message(self.limit))
        return raw_data

    def _discard_partial_files(self) -> None:
        # The file being received sits in the next handler's temporary file: close it (which
        # deletes it) now rather than whenever the parser is garbage-collected.
        for handler in getattr(self.request, "upload_handlers", ()):
            partial = getattr(handler, "file", None)
            if handler is not self and partial is not None:
                partial.close()

    def file_complete(self, file_size: int) -> None:
        return None  # the next handler (memory or temporary file) builds the file
