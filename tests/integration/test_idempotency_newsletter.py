"""The newsletter service's creating commands with `Idempotency-Key` (a retried request gets the first
answer and creates nothing new; the same key for another request is a 422), titles and names that
refuse line breaks and control characters before anything is stored (a title is every mail's
subject), safe links and plausible dates, and who wrote what shown to staff only. Real service, real
database (SQLite and PostgreSQL through the `database_url` fixture), real broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.newsletter.app import build
from services.newsletter.settings import NewsletterSettings
from shared.db import make_engine
from shared.links import make_token
from tests.infra import AUTH_SECRET, LINK_SECRET, auth, free_port

pytestmark = pytest.mark.integration

STAFF = auth("staff", "an.medewerker@vvsg.be")
ISSUE = {"title": "Nieuwsbrief maart", "body": "# Hallo\n\nNieuws uit het netwerk."}
ARTICLE = {"title": "Digitale inclusie in Zemst", "magazine": "Lokaal", "url": "https://www.vvsg.be/lokaal/1"}
PRACTICE = {"title": "Digipunt in de bib", "url": "https://www.vvsg.be/praktijken/digipunt"}


@pytest.fixture
def newsletter(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[TestClient]:
    settings = NewsletterSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,  # type: ignore[arg-type]
        link_secret=LINK_SECRET,  # type: ignore[arg-type]
        outbox_poll_seconds=0.1,
        smtp_port=free_port(),  # nobody listens: mails stay queued
        public_rate_per_minute=6000,
    )
    with TestClient(build(settings), headers=STAFF) as client:
        yield client


def _count(database_url: str, table: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _subscriber(newsletter: TestClient, email: str) -> None:
    """Subscribed through the public double opt-in, as a person does it."""
    assert newsletter.post("/subscriptions", json={"email": email}).status_code == 202
    [found] = newsletter.get("/subscribers", params={"q": email}).json()["items"]
    token = make_token(LINK_SECRET, "newsletter-confirm", found["id"])
    assert newsletter.post(f"/nieuwsbrief/bevestigen/{token}").status_code == 200


def test_a_retried_issue_article_and_practice_are_each_created_once(
    newsletter: TestClient, database_url: str
) -> None:
    for path, body, table in (
        ("/issues", ISSUE, "nl_issues"),
        ("/articles", ARTICLE, "nl_articles"),
        ("/good-practices", PRACTICE, "nl_good_practices"),
    ):
        headers = {"Idempotency-Key": f"retry-{table}"}
        first = newsletter.post(path, json=body, headers=headers)
        again = newsletter.post(path, json=body, headers=headers)
        assert first.status_code == 201, first.text
        assert (again.status_code, again.json()) == (201, first.json())
        assert again.headers["Idempotent-Replayed"] == "true"
        assert _count(database_url, table) == 1
    assert _count(database_url, "outbox") == 2  # article.published and good_practice.published, once each


def test_a_retried_send_queues_each_mail_once(newsletter: TestClient, database_url: str) -> None:
    _subscriber(newsletter, "an.peeters@zemst.be")
    _subscriber(newsletter, "jan.janssens@mechelen.be")
    issue_id = newsletter.post("/issues", json=ISSUE).json()["id"]
    headers = {"Idempotency-Key": "send-march"}
    first = newsletter.post(f"/issues/{issue_id}/send", headers=headers)
    again = newsletter.post(f"/issues/{issue_id}/send", headers=headers)
    assert first.status_code == 202, first.text
    assert (again.status_code, again.json()) == (202, first.json())
    assert _count(database_url, "nl_deliveries") == 2
    # without the key, a second send is what it always was: a conflict
    assert newsletter.post(f"/issues/{issue_id}/send").status_code == 409


def test_the_same_key_for_another_issue_is_refused(newsletter: TestClient, database_url: str) -> None:
    headers = {"Idempotency-Key": "issue-key-2"}
    assert newsletter.post("/issues", json=ISSUE, headers=headers).status_code == 201
    other = newsletter.post("/issues", json={**ISSUE, "title": "Nieuwsbrief april"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"][-1] == "Idempotency-Key"
    assert _count(database_url, "nl_issues") == 1


def test_a_duplicate_article_with_a_new_key_is_a_conflict_and_stores_no_key(
    newsletter: TestClient, database_url: str
) -> None:
    assert newsletter.post("/articles", json=ARTICLE).status_code == 201
    duplicate = newsletter.post("/articles", json=ARTICLE, headers={"Idempotency-Key": "article-2"})
    assert duplicate.status_code == 409
    assert "same magazine" in duplicate.text
    assert _count(database_url, "idempotency_keys") == 0


@pytest.mark.parametrize("title", ["a\nb", "a\rb", "Nieuws\u0008brief", "Nieuws\u0085brief"])
def test_an_issue_title_with_a_line_break_or_control_character_is_refused_and_nothing_stored(
    newsletter: TestClient, database_url: str, title: str
) -> None:
    refused = newsletter.post("/issues", json={**ISSUE, "title": title})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == "title"
    assert _count(database_url, "nl_issues") == 0
    draft = newsletter.post("/issues", json=ISSUE).json()
    changed = newsletter.patch(f"/issues/{draft['id']}", json={"title": title})
    assert changed.status_code == 422 and changed.json()["detail"][0]["loc"][-1] == "title"
    assert newsletter.get(f"/issues/{draft['id']}").json()["title"] == ISSUE["title"]


def test_a_body_keeps_its_lines_but_not_a_control_character(
    newsletter: TestClient, database_url: str
) -> None:
    refused = newsletter.post("/issues", json={**ISSUE, "body": "Hallo\u0000"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "body"
    assert newsletter.post("/issues", json={**ISSUE, "body": "Regel 1\n\n\tRegel 2"}).status_code == 201
    assert _count(database_url, "nl_issues") == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/articles", {**ARTICLE, "title": "Lokaal\nBcc: x@evil.example"}, "title"),
        ("/articles", {**ARTICLE, "url": "javascript:alert(1)"}, "url"),
        ("/articles", {**ARTICLE, "url": "https://www.vvsg.be/\u0000x"}, "url"),
        ("/articles", {**ARTICLE, "published_on": "1168-05-01"}, "published_on"),
        ("/good-practices", {**PRACTICE, "url": "https://www.vvsg.be/a b"}, "url"),
        ("/good-practices", {**PRACTICE, "title": "Digipunt\u009b"}, "title"),
        ("/subscriptions", {"email": "an@zemst.be", "first_name": "An\r\nBcc: x@evil.example"}, "first_name"),
    ],
)
def test_bad_text_links_and_dates_are_refused_on_their_field(
    newsletter: TestClient, database_url: str, path: str, body: dict[str, object], field: str
) -> None:
    refused = newsletter.post(path, json=body)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == field
    for table in ("nl_articles", "nl_good_practices", "nl_subscribers", "outbox"):
        assert _count(database_url, table) == 0


def test_a_first_name_with_a_line_break_on_the_public_page_is_refused_in_dutch(
    newsletter: TestClient, database_url: str
) -> None:
    refused = newsletter.post("/nieuwsbrief", data={"email": "an@zemst.be", "first_name": "An\nBcc"})
    assert refused.status_code == 422
    assert "stuurteken" in refused.text and 'id="first_name-error"' in refused.text
    assert _count(database_url, "nl_subscribers") == 0


def test_viewers_do_not_see_who_wrote_an_issue_or_recorded_a_publication_staff_do(
    newsletter: TestClient,
) -> None:
    issue_id = newsletter.post("/issues", json=ISSUE).json()["id"]
    newsletter.post("/articles", json=ARTICLE)
    newsletter.post("/good-practices", json=PRACTICE)
    for role in ("staff", "admin"):
        headers = auth(role)
        assert (
            newsletter.get(f"/issues/{issue_id}", headers=headers).json()["created_by"]
            == "an.medewerker@vvsg.be"
        )
        [article] = newsletter.get("/articles", headers=headers).json()
        [practice] = newsletter.get("/good-practices", headers=headers).json()
        assert article["created_by"] == practice["created_by"] == "an.medewerker@vvsg.be"
    for role in ("viewer", "partner"):
        headers = auth(role)
        for path in (f"/issues/{issue_id}", "/issues", "/articles", "/good-practices"):
            answer = newsletter.get(path, headers=headers)
            assert answer.status_code == 200, (role, path)
            assert "an.medewerker" not in answer.text, (role, path)
        assert newsletter.get(f"/issues/{issue_id}", headers=headers).json()["created_by"] is None


def test_unknown_ids_stay_404(newsletter: TestClient) -> None:
    unknown = uuid.uuid4()
    assert (
        newsletter.post(f"/issues/{unknown}/send", headers={"Idempotency-Key": "send-unknown"}).status_code
        == 404
    )
    assert newsletter.post(f"/subscribers/{unknown}/unsubscribe").status_code == 404
