"""The way in for a local stack without an identity provider: a one-time sign-in link mailed to an
address on the configured list (a real SMTP server catches it), working once; off unless configured."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from tests import infra


class Catcher:
    def __init__(self) -> None:
        self.mails: list[Message] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.mails.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def mail_catcher() -> Iterator[tuple[Catcher, int]]:
    catcher = Catcher()
    port = infra.free_port()
    controller = Controller(catcher, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield catcher, port
    finally:
        controller.stop()


@pytest.fixture
def office(mail_catcher: tuple[Catcher, int], tmp_path: Path) -> Iterator[infra.ServiceProcess]:
    _, port = mail_catcher
    env = {
        "BACKOFFICE_MAIL_LOGIN": "1",
        "BACKOFFICE_MAIL_LOGIN_USERS": "sam@vvsg.be=staff",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "OIDC_ISSUER": "",
    }
    process = infra.ServiceProcess("backoffice", env, tmp_path).start()
    try:
        yield process
    finally:
        process.stop()


def ask_link(client: httpx.Client, address: str) -> httpx.Response:
    form = client.get("/aanmelden/mail")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    return client.post("/aanmelden/mail", data={"csrf": csrf.group(1), "email": address})


def test_a_listed_address_gets_a_link_that_signs_in_once(
    office: infra.ServiceProcess, mail_catcher: tuple[Catcher, int]
) -> None:
    catcher, _ = mail_catcher
    with httpx.Client(base_url=office.url) as client:
        assert client.get("/leden").headers["location"].startswith("/aanmelden")
        assert client.get("/aanmelden").headers["location"] == "/aanmelden/mail"
        assert ask_link(client, "Sam@vvsg.be").status_code == 200
        assert ask_link(client, "nobody@vvsg.be").status_code == 200  # the same answer: no address list leaks
    assert len(catcher.mails) == 1
    mail = catcher.mails[0]
    assert mail["To"] == "sam@vvsg.be"
    body = mail.get_payload(decode=True)
    assert isinstance(body, bytes)
    link = re.search(r"(http://\S+/aanmelden/mail/\S+)", body.decode())
    assert link is not None

    with httpx.Client() as browser:
        signed_in = browser.get(link.group(1))
        assert signed_in.status_code == 303
        home = browser.get(f"{office.url}/")
        assert home.status_code == 200 and "Welkom" in home.text and "medewerker" in home.text
    with httpx.Client() as someone_else:
        again = someone_else.get(link.group(1))
        assert again.status_code == 400  # used once already
        assert someone_else.get(f"{office.url}/", follow_redirects=False).status_code == 303


def test_a_request_for_a_link_without_its_form_token_is_refused(
    office: infra.ServiceProcess, mail_catcher: tuple[Catcher, int]
) -> None:
    catcher, _ = mail_catcher
    answer = httpx.post(f"{office.url}/aanmelden/mail", data={"email": "sam@vvsg.be"})
    assert answer.status_code == 403
    assert catcher.mails == []


def test_mail_sign_in_is_off_unless_configured(tmp_path: Path) -> None:
    process = infra.ServiceProcess("backoffice", {"OIDC_ISSUER": ""}, tmp_path).start()
    try:
        assert httpx.get(f"{process.url}/aanmelden/mail").status_code == 404
        assert httpx.get(f"{process.url}/aanmelden").status_code == 503  # no provider, no way in
    finally:
        process.stop()


def test_bin_up_starts_the_back_office_with_the_mailed_link_when_no_provider_is_configured(
    mail_catcher: tuple[Catcher, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deploy import run_local

    _, smtp_port = mail_catcher
    port = infra.free_port()
    monkeypatch.setitem(run_local.PORTS, "backoffice", port)
    monkeypatch.setattr(run_local, "LOCAL", tmp_path)
    monkeypatch.delenv("OIDC_ISSUER", raising=False)
    env = {"AUTH_SECRET": infra.AUTH_SECRET, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp_port)}
    process = run_local.start_backoffice(env)
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/aanmelden")
        assert answer.headers["location"] == "/aanmelden/mail"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert ask_link(client, "demo.medewerker@vvsg.be").status_code == 200
        assert mail_catcher[0].mails[0]["To"] == "demo.medewerker@vvsg.be"
    finally:
        process.terminate()
        process.wait(20)
