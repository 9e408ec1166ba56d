"""The back office's settings: the identity provider (OIDC_*), the session, and where the services are."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.auth import ROLES, Role
from shared.settings import DEFAULT_PORTS, Settings

# not in shared.settings.DEFAULT_PORTS: the tools that walk that table (status, demo, the compose
# check) take every entry for one of the five event-driven services
PORT = 8000


class BackofficeSettings(Settings):
    service_name: str = "backoffice"
    # any standard OpenID Connect provider: its issuer URL (the discovery document is under it)
    oidc_issuer: str = ""
    oidc_client_id: str = "vvsg-backoffice"
    oidc_client_secret: SecretStr = Field(default=SecretStr(""))  # empty: a public client (PKCE alone)
    oidc_scopes: str = "openid profile email"
    # the ID-token claim that carries the person's roles or groups (a dotted path, e.g. realm_access.roles)
    oidc_role_claim: str = "roles"
    # provider role or group = back-office role, comma-separated; the strongest mapped role wins
    oidc_role_map: str = "vvsg-admin=admin,vvsg-staff=staff,mediawijs=partner,viewer=viewer"
    # what names the person in the services' audit trail: a claim of the ID token (email, or sub)
    oidc_subject_claim: str = "email"
    backoffice_session_minutes: int = 480
    backoffice_token_seconds: int = 300  # the bearer token a screen calls a service with
    backoffice_cookie_secure: bool = False  # on behind HTTPS
    # a way in without a provider, for bin/up only: a one-time sign-in link mailed to the address (off
    # unless BACKOFFICE_MAIL_LOGIN=1); who may ask one, with their role: "an@vvsg.be=admin,sam@vvsg.be=staff"
    backoffice_mail_login: bool = False
    backoffice_mail_login_users: str = ""
    backoffice_mail_link_minutes: int = 15
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    mail_from: str = "Digitale inclusie VVSG <digitale.inclusie@vvsg.be>"
    members_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['members']}"
    events_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['events']}"
    feedback_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['feedback']}"
    newsletter_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['newsletter']}"
    kpi_url: str = f"http://127.0.0.1:{DEFAULT_PORTS['kpi']}"

    def role_map(self) -> dict[str, Role]:
        mapping: dict[str, Role] = {}
        for pair in self.oidc_role_map.split(","):
            name, _, role = pair.partition("=")
            role = role.strip()
            if name.strip() and role in ROLES:
                mapping[name.strip()] = role  # checked against ROLES
        return mapping

    def mail_login_users(self) -> dict[str, Role]:
        users: dict[str, Role] = {}
        for pair in self.backoffice_mail_login_users.split(","):
            address, _, role = pair.partition("=")
            role = role.strip()
            if address.strip() and role in ROLES:
                users[address.strip().lower()] = role  # checked against ROLES
        return users


def load() -> BackofficeSettings:
    settings = BackofficeSettings()
    if not settings.http_port:
        settings.http_port = PORT
    return settings
