"""Every instant an answer gives is in JST (``…+09:00``), as the command line's JSON: the
views keep UTC, a command's own instants keep the zone they were written in."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from hub.fiscal import times_in_jst


class JstJSONResponse(JSONResponse):
    """A JSON answer whose instants (keys ending in ``_at``, ``valid_from`` …) are in JST."""

    def render(self, content: Any) -> bytes:
        return super().render(times_in_jst(content))
