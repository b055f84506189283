"""The web pages without a browser: production refuses the development sign-in, the session
cookie's attributes and names, 名寄せ matching and 和暦 dates of any era."""

from __future__ import annotations

import re
from datetime import date
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi import Request, Response
from fastapi.testclient import TestClient

from hub.errors import AuthenticationError
from hub.identity import Actor, Role
from hub.settings import Settings
from ops.api.app import create_app
from ops.identity.tokens import TokenVerifier
from ops.usecases import HubService, matches
from ops.web.format import period, wareki_date
from ops.web.session import Sessions

CITY = {
    "oidc_issuer": "https://idp.city.example.invalid/realms/hub",
    "oidc_jwks_url": "https://idp.city.example.invalid/realms/hub/certs",
}
DEV_FORM = {"subject": "officer-試験", "role": "ward_officer", "ward": "tobata", "agency": ""}


def _signin_form(client: TestClient, **fields: str) -> dict[str, str]:
    """The form's fields with the token the sign-in page drew (its cookie is kept)."""
    page = client.get("/web/signin")
    token = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', page.text)
    assert token, "the sign-in page draws no CSRF token"
    return {**fields, "csrf_token": token.group(1)}


def test_production_refuses_the_development_sign_in(tmp_path: Any) -> None:
    settings = Settings(mode="production", var_dir=tmp_path, **CITY)
    client = TestClient(create_app(cast(HubService, None), settings))
    page = client.get("/web/signin")
    assert page.status_code == 200
    assert "開発用サインイン" not in page.text and 'action="/web/signin/dev"' not in page.text
    refused = client.post(
        "/web/signin/dev", data=_signin_form(client, **DEV_FORM), follow_redirects=False
    )
    assert refused.status_code == 404
    assert "hub_session" not in refused.headers.get("set-cookie", "")
    assert not (tmp_path / "oidc").exists()  # no development key was made


def test_a_development_sign_in_sets_an_httponly_strict_cookie(tmp_path: Any) -> None:
    settings = Settings(mode="development", var_dir=tmp_path)
    client = TestClient(create_app(cast(HubService, None), settings))
    signed = client.post(
        "/web/signin/dev", data=_signin_form(client, **DEV_FORM), follow_redirects=False
    )
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"].lower()
    assert cookie.startswith("hub_session=")
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    missing = client.post("/web/signin/dev", data=_signin_form(client, **{**DEV_FORM, "ward": ""}))
    assert missing.status_code == 422
    assert 'id="ward-error"' in missing.text and "区を選んでください" in missing.text


@pytest.mark.parametrize(
    ("field", "form"),
    [
        ("ward", {**DEV_FORM, "ward": "nowhere"}),
        ("ward", {**DEV_FORM, "role": "coordinator", "ward": "Tobata"}),
        ("agency", {**DEV_FORM, "role": "member_agency", "ward": "", "agency": "tobata.nope"}),
    ],
)
def test_a_ward_or_agency_the_form_does_not_offer_is_refused_beside_it(
    tmp_path: Any, field: str, form: dict[str, str]
) -> None:
    # A session for a ward no network has would draw the officer's pages for nobody's ward.
    settings = Settings(mode="development", var_dir=tmp_path)
    client = TestClient(create_app(cast(HubService, None), settings))
    refused = client.post("/web/signin/dev", data=_signin_form(client, **form))
    assert refused.status_code == 422
    assert f'id="{field}-error"' in refused.text and "一覧にある" in refused.text
    assert "hub_session=" not in refused.headers.get("set-cookie", "")


def test_a_bad_token_is_refused_at_sign_in_beside_its_field(tmp_path: Any) -> None:
    settings = Settings(mode="development", var_dir=tmp_path)
    client = TestClient(create_app(cast(HubService, None), settings))
    refused = client.post("/web/signin/token", data=_signin_form(client, token="not.a.token"))
    assert refused.status_code == 401
    assert 'id="token-error"' in refused.text
    assert "hub_session" not in refused.headers.get("set-cookie", "")


@pytest.mark.parametrize("subject", ["x" * 300, "officer\x00試験"])
def test_a_development_subject_no_token_can_carry_is_refused_beside_it_in_japanese(
    tmp_path: Any, subject: str
) -> None:
    """It was the error page with the token's refusal in English alone."""
    settings = Settings(mode="development", var_dir=tmp_path)
    client = TestClient(create_app(cast(HubService, None), settings))
    form = _signin_form(client, **{**DEV_FORM, "subject": subject})
    refused = client.post("/web/signin/dev", data=form, follow_redirects=False)
    assert refused.status_code == 422
    error = re.search(r'id="subject-error">([^<]*)<', refused.text)
    assert error and error.group(1).startswith("この利用者IDではサインインできません")
    assert "hub_session" not in refused.headers.get("set-cookie", "")


def test_a_cross_site_post_to_sign_in_is_refused(tmp_path: Any) -> None:
    """Login CSRF: another site's page posts the attacker's sign-in into the victim's
    browser. It can send no pre-session cookie (SameSite=Strict) and cannot compute the
    token; nor does the token of one pre-session fit another's cookie."""
    settings = Settings(mode="development", var_dir=tmp_path)
    client = TestClient(create_app(cast(HubService, None), settings))
    attacker = TestClient(create_app(cast(HubService, None), settings))
    theirs = _signin_form(attacker, **DEV_FORM)  # a token drawn for the attacker's cookie
    forged = [
        ({}, DEV_FORM),  # no token, no cookie
        ({}, theirs),  # a real token, but the victim's browser sends no cookie cross-site
        ({"hub_signin": "chosen-by-the-attacker"}, theirs),
        ({"hub_signin": "chosen-by-the-attacker"}, {**DEV_FORM, "csrf_token": "0" * 64}),
    ]
    for cookies, data in forged:
        client.cookies.clear()
        for name, value in cookies.items():
            client.cookies.set(name, value)
        for door in ("/web/signin/dev", "/web/signin/token"):
            refused = client.post(door, data={**data, "token": "x"}, follow_redirects=False)
            assert refused.status_code == 403, (door, refused.text)
            assert "CSRF" in refused.text
            assert "hub_session" not in refused.headers.get("set-cookie", "")
    # The same form drawn by the page in this browser signs in.
    client.cookies.clear()
    signed = client.post(
        "/web/signin/dev", data=_signin_form(client, **DEV_FORM), follow_redirects=False
    )
    assert signed.status_code == 303 and "hub_session=" in signed.headers["set-cookie"]
    client.cookies.clear()
    drawn = client.get("/web/signin").headers["set-cookie"].lower()
    assert drawn.startswith("hub_signin=") and "httponly" in drawn and "samesite=strict" in drawn


def test_name_matching_folds_kana_width_and_spaces() -> None:
    person = SimpleNamespace(
        kana="シケン タロウ", birth_date=date(1950, 1, 2), address="北九州市戸畑区架空町１－２"
    )
    assert matches(person, "しけん", None, "")
    assert matches(person, "ｼｹﾝﾀﾛｳ", date(1950, 1, 2), "")
    assert matches(person, "", None, "戸畑区架空町1")
    assert not matches(person, "しけん", date(1950, 1, 3), "")
    assert not matches(person, "かくう", None, "")


def test_wareki_dates_of_every_era_a_person_may_be_born_in() -> None:
    assert wareki_date(date(2019, 5, 1)) == "令和元年5月1日"
    assert wareki_date(date(2019, 4, 30)) == "平成31年4月30日"
    assert wareki_date(date(1989, 1, 7)) == "昭和64年1月7日"
    assert wareki_date(date(1950, 1, 2)) == "昭和25年1月2日"
    assert wareki_date(date(1926, 12, 24)) == "大正15年12月24日"


def test_making_an_existing_file_private_opens_no_descriptor_of_it(
    tmp_path: Any, monkeypatch: Any
) -> None:
    """Closing any descriptor of a live SQLite file drops the process's POSIX locks on it;
    the settings make the store private on every call, so they must not open it."""
    import os

    from hub.files import private_file

    path = tmp_path / "hub.sqlite"
    private_file(path)
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    path.chmod(0o644)
    opened: list[str] = []
    real_open = os.open

    def recording_open(target: Any, *args: Any, **kwargs: Any) -> int:
        fd = real_open(target, *args, **kwargs)  # an attempt refused (O_EXCL) opens nothing
        opened.append(str(target))
        return fd

    monkeypatch.setattr(os, "open", recording_open)
    private_file(path)
    assert opened == [] and (path.stat().st_mode & 0o777) == 0o600


def test_production_cookies_cannot_be_planted_by_another_host_of_the_domain() -> None:
    """A sibling host of the city's domain is the same site: SameSite does not stop it from
    setting a cookie for the whole domain. In production the names carry ``__Host-``, which a
    browser takes only from this host, Secure, for every path; a planted plain-named cookie is
    not read (neither a pre-session nonce of the attacker's choosing nor a session)."""
    settings = Settings(mode="production", **CITY)
    client = TestClient(create_app(cast(HubService, None), settings), base_url="https://testserver")
    client.cookies.set("hub_signin", "chosen-by-a-sibling-host")
    drawn = client.get("/web/signin").headers["set-cookie"]
    name, _, rest = drawn.partition("=")
    assert name == "__Host-hub_signin"
    assert not rest.startswith("chosen-by-a-sibling-host")
    assert "secure" in rest.lower() and "path=/" in rest.lower() and "domain" not in rest.lower()

    officer = Actor("officer-試験", Role.ward_officer, ward="tobata")
    sessions = Sessions(settings, cast(TokenVerifier, SimpleNamespace(actor=lambda _: officer)))
    signed = Response()
    sessions.sign_in(signed, "a-token")
    assert signed.headers["set-cookie"].startswith("__Host-hub_session=a-token;")
    planted = Request({"type": "http", "headers": [(b"cookie", b"hub_session=a-token")]})
    with pytest.raises(AuthenticationError):
        sessions.actor(planted)
    kept = Request({"type": "http", "headers": [(b"cookie", b"__Host-hub_session=a-token")]})
    assert sessions.actor(kept) == officer


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00+00:00", "0001-01-02T00:00:00+00:00"),
        ("9999-12-31T00:00:00-09:00", "9999-12-31T23:59:59-09:00"),
    ],
)
def test_a_period_below_the_edge_is_shown_as_written(start: str, end: str) -> None:
    # A consent of a log written before the edge's rules (hub/quarantine.py): no JST day
    # exists for its end, and the case page must still be drawn.
    assert period(start, end).endswith(f"〜{end}")


def test_a_period_of_whole_days_names_its_last_day() -> None:
    assert period("2025-05-01T00:00:00+09:00", "2026-05-01T00:00:00+09:00") == (
        "令和7年5月1日〜令和8年4月30日"
    )
