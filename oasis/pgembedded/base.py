"""Database backend for the embedded Postgres: the project's backend (oasis.dbbackend), plus
"start the server under var/ the first time a connection is needed". Commands that never
touch the database (lint, checks) never start it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from oasis.dbbackend import base
from oasis.embedded_pg import ensure_running


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        pgdata = Path(self.settings_dict["OPTIONS"]["pgdata"])
        if not self.settings_dict.get("HOST"):
            self.settings_dict.update(ensure_running(pgdata))
        params = super().get_connection_params()
        params.pop("pgdata", None)
        return params
