"""Aggregates: each a list of ``@event`` methods whose bodies only change state.

Every event carries one payload from ``hub.events``; rules are checked in the public
methods before an event is triggered, so replays never re-check them.
"""
