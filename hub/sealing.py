"""Personal fields sealed in the log of record with their data subject's key.

An event payload's fields marked personal (``hub.events.personal``, nested ones included:
``person.name``, ``issues.0.issue``) leave the stored JSON and travel in one AES-GCM
ciphertext under ``"_sealed_"``::

    "_sealed_": {"s": subject, "f": [paths], "n": nonce (base64), "c": ciphertext (base64)}

The subject is the payload's ``case_id`` (or ``discovery_id``); the associated data binds
the ciphertext to the event type, the subject and the rest of the payload (its ids and
times), so it reads in no other event. The paths are not personal (they say which
fields were held, as the audit does) and stay readable, so that after the subject's key is
destroyed a read shows exactly which fields were erased: a text field reads
``ERASED`` ("［消去済み］"), a list of texts ``[ERASED]``, any other field (a date) None, and
the payload's ``erased`` paths (``erased_fields``) name them all.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import types
import typing
from dataclasses import dataclass
from typing import Any, Union

from pydantic import BaseModel

from hub.keys import NONCE_SIZE, DataKeys

ERASED = "［消去済み］"
SEALED = "_sealed_"


@dataclass(frozen=True)
class Leaf:
    """A personal field, and what it reads once its key is destroyed."""

    erased: Any


Spec = dict[str, "Leaf | Spec"]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


def _erased_value(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        for arg in typing.get_args(annotation):
            if arg is not type(None):
                return _erased_value(arg)
        return None
    if annotation is str:
        return ERASED
    if origin is list and typing.get_args(annotation) == (str,):
        return [ERASED]
    return None


_SPECS: dict[type[BaseModel], Spec] = {}


def personal_spec(model: type[BaseModel]) -> Spec:
    """The personal fields of ``model``, nested models' included (empty: none)."""
    found = _SPECS.get(model)
    if found is not None:
        return found
    spec: Spec = {}
    for name, field in model.model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("personal"):
            spec[name] = Leaf(_erased_value(field.annotation))
            continue
        for nested in _models_in(field.annotation):
            inner = personal_spec(nested)
            if inner:
                spec[name] = inner
    _SPECS[model] = spec
    return spec


_SEALED_SUBJECT = b'"' + SEALED.encode() + b'":{"s":"'


def sealed_subject(state: bytes) -> str | None:
    """The subject whose key opens the sealed fields of a stored state, read from its JSON
    without parsing it (for reading keys ahead); None if it shows none."""
    start = state.find(_SEALED_SUBJECT)
    if start < 0:
        return None
    start += len(_SEALED_SUBJECT)
    end = state.find(b'"', start)
    return state[start:end].decode() if end > start else None


def subject_of(data: dict[str, Any]) -> str | None:
    """The data subject a payload's personal fields belong to."""
    subject = data.get("case_id") or data.get("discovery_id")
    return str(subject) if subject is not None else None


def plain_paths(model: type[BaseModel], data: dict[str, Any]) -> list[str]:
    """The personal fields a stored payload (its JSON, unsealed or not) holds in plain: those
    of a log written before sealing, or with ``HUB_SEAL_PERSONAL=false``; ``data`` unchanged."""
    spec = personal_spec(model)
    if not spec:
        return []
    taken: dict[str, Any] = {}
    _take(spec, copy.deepcopy(data), "", taken)
    return list(taken)


def _take(spec: Spec, data: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    for name, sub in spec.items():
        value = data.get(name)
        if value is None:
            continue
        if isinstance(sub, Leaf):
            out[prefix + name] = data.pop(name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    _take(sub, item, f"{prefix}{name}.{index}.", out)
        elif isinstance(value, dict):
            _take(sub, value, f"{prefix}{name}.", out)


def _put(spec: Spec, data: dict[str, Any], path: str, value: Any, *, erased: bool) -> None:
    parts = path.split(".")
    node: Any = data
    sub: Any = spec
    for part in parts[:-1]:
        if part.isdigit():
            node = node[int(part)]
        else:
            node = node[part]
            sub = sub[part]
    leaf = sub[parts[-1]]
    node[parts[-1]] = leaf.erased if erased else value


def _aad(model: type[BaseModel], subject: str, rest: dict[str, Any]) -> bytes:
    # The event type, the subject and every field left in the clear (ids, times, the paths
    # not sealed): a ciphertext pasted into another event, of this person or another, fails.
    bound = json.dumps(rest, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return f"{model.__name__}\x1f{subject}\x1f{bound}".encode()


class Sealer:
    """Seals and unseals the personal fields of payload dicts with the subjects' keys."""

    def __init__(self, keys: DataKeys) -> None:
        self.keys = keys

    def seal(self, model: type[BaseModel], data: dict[str, Any]) -> dict[str, Any]:
        """``data`` (a payload as JSON) with its personal fields sealed (changed in place)."""
        spec = personal_spec(model)
        if not spec:
            return data
        taken: dict[str, Any] = {}
        _take(spec, data, "", taken)
        if not taken:
            return data
        subject = subject_of(data)
        if subject is None:
            raise ValueError(f"{model.__name__} holds personal fields but names no subject")
        sealed: dict[str, Any] = {"s": subject, "f": list(taken)}
        cipher = self.keys.for_writing(subject)
        if cipher is not None:  # else erased already: the fields are not kept at all
            nonce = os.urandom(NONCE_SIZE)
            plain = json.dumps(taken, ensure_ascii=False, separators=(",", ":")).encode()
            sealed["n"] = base64.b64encode(nonce).decode()
            sealed["c"] = base64.b64encode(
                cipher.encrypt(nonce, plain, _aad(model, subject, data))
            ).decode()
        data[SEALED] = sealed
        return data

    def unseal(self, model: type[BaseModel], data: dict[str, Any]) -> tuple[str, ...]:
        """Puts the sealed fields back into ``data`` (in place); the paths erased."""
        sealed = data.pop(SEALED, None)
        if sealed is None:
            return ()
        spec = personal_spec(model)
        subject = str(sealed["s"])
        if subject != subject_of(data):
            raise ValueError(f"{model.__name__}: sealed fields of another subject ({subject})")
        paths: list[str] = list(sealed["f"])
        cipher = self.keys.for_reading(subject) if "c" in sealed else None
        if cipher is None:
            for path in paths:
                _put(spec, data, path, None, erased=True)
            return tuple(paths)
        plain = cipher.decrypt(
            base64.b64decode(sealed["n"]),
            base64.b64decode(sealed["c"]),
            _aad(model, subject, data),
        )
        for path, value in json.loads(plain).items():
            _put(spec, data, path, value, erased=False)
        return ()
