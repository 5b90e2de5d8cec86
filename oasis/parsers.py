"""The API's default JSON parser: DRF's, with the nesting and character limits of `oasis.hygiene`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from oasis.hygiene import InputRejected, check_json_value


class LimitedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
        try:
            check_json_value(data)
        except InputRejected as exc:
            raise ParseError(str(exc)) from None
        return data
