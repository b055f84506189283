"""Settings of the consumers (``HUB_`` environment variables), beside the hub's own.

The agency client keeps its inbox in SQLite by default (``var/agency/<agency_id>.sqlite``)
or in PostgreSQL (the hub's ``HUB_POSTGRES_*`` connection, one schema per agency). The reply
ingester's acknowledgement timers say how long a referral may wait for an answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hub.office_days import after_open_time
from hub.settings import invalid_settings, refuse_empty_path
from hub.vocabulary import Urgency

InboxStore = Literal["sqlite", "postgres"]
MAX_TIMER_MINUTES = 366 * 24 * 60
TimerMinutes = Annotated[int, Field(ge=1, le=MAX_TIMER_MINUTES)]


class ConsumerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HUB_", frozen=True, extra="ignore")

    agency_inbox_store: InboxStore = "sqlite"
    # A file path for SQLite; defaults to <var_dir>/agency/<agency_id>.sqlite. "{agency}" in
    # it becomes the agency id: an inbox holds one agency's records, never share one file.
    agency_inbox_path: Path | None = None
    # A PostgreSQL schema; defaults to inbox_{agency} ({agency}: the id with _ for . and -).
    agency_inbox_schema: str | None = None

    # Acknowledgement timers: minutes a referral may stay unanswered ("sent") before it is
    # escalated to the ward's coordinator, by urgency.
    # At least a minute (0 or less would escalate every referral as it is sent), at most a
    # year (a timer that never fires is a setting to remove, not to stretch).
    ack_timeout_minutes: TimerMinutes = 3 * 24 * 60
    ack_timeout_soon_minutes: TimerMinutes = 24 * 60
    ack_timeout_urgent_minutes: TimerMinutes = 4 * 60
    ack_timeout_life_at_risk_minutes: TimerMinutes = 30
    # The urgencies whose timers count only the days the city office is open (not 土日祝日
    # or 年末年始: hub/office_days.py), comma-separated, e.g. "routine,soon". None by
    # default: every timer runs day and night, as a life at risk must.
    ack_pause_on_closed_days: Annotated[frozenset[Urgency], NoDecode] = frozenset()

    @field_validator("ack_pause_on_closed_days", mode="before")
    @classmethod
    def _urgencies(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(part.strip() for part in value.split(",") if part.strip())
        return value

    def ack_deadline(self, urgency: str, made_at: datetime) -> datetime:
        """When a referral of ``urgency`` made at ``made_at`` is overdue unanswered."""
        timeout = self.ack_timeout(urgency)
        if urgency in self.ack_pause_on_closed_days:
            return after_open_time(made_at, timeout)
        return made_at + timeout

    @field_validator("agency_inbox_path", mode="before")
    @classmethod
    def _a_path_names_something(cls, value: Any) -> Any:
        return refuse_empty_path(value)

    def ack_timeout(self, urgency: str) -> timedelta:
        minutes = {
            "soon": self.ack_timeout_soon_minutes,
            "urgent": self.ack_timeout_urgent_minutes,
            "life_at_risk": self.ack_timeout_life_at_risk_minutes,
        }.get(urgency, self.ack_timeout_minutes)
        return timedelta(minutes=minutes)


@lru_cache(maxsize=1)
def get_consumer_settings() -> ConsumerSettings:
    try:
        return ConsumerSettings()
    except ValidationError as error:
        raise invalid_settings(error) from None
