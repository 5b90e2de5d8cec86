"""The OpenAPI schema of the API: every operation also documents the errors it can answer.

DRF answers a missing or wrong key with 401 or 403, a bad value with 400 and another
workspace's object with 404, on every endpoint; the schema says so once, here, so clients
(and schemathesis) can tell a documented refusal from an undocumented one.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse

ERROR_RESPONSES = {
    "400": "A value is missing or invalid: `{field: [messages]}`, `{non_field_errors: [...]}` or `{detail}`.",
    "401": "No API key or session, or a revoked key: `{detail}`.",
    "403": "Signed in, but the role or a rule does not allow it: `{detail}`.",
    "404": "No such object in your workspaces (another workspace's object answers the same): `{detail}`.",
}
BODY_ERROR_RESPONSES = {"415": "The body is not JSON or form data: `{detail}`."}


class OasisAutoSchema(AutoSchema):
    def _resolve_path_parameters(self, variables: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super()._resolve_path_parameters(variables)  # type: ignore[no-untyped-call]
        for parameter in parameters:
            schema = parameter.get("schema", {})
            if schema.get("type") == "integer":
                # Django's <int:...> converter matches digits only: "-1" is no URL of the API.
                schema.setdefault("minimum", 0)
        return parameters

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors = {**ERROR_RESPONSES, **(BODY_ERROR_RESPONSES if self.method in ("POST", "PUT", "PATCH") else {})}
        for code, description in errors.items():
            if code not in responses:
                error = OpenApiResponse(OpenApiTypes.OBJECT, description=description)
                responses[code] = self._get_response_for_code(error, code, direction=direction)  # type: ignore[no-untyped-call]
        return responses
