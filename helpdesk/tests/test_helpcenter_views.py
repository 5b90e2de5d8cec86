from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from ai.models import Passage
from audit.services import Actor
from helpdesk.helpcenter_import import import_helpcenter
from helpdesk.models import Article, ArticleStatus

GUIDE = """---
title: Sizing guide
url: https://acme.test/help/sizing
---
Find the right fit.

## Measuring your chest

Measure around the fullest part of your chest with a soft tape.

## Between two sizes

<script>alert('pwned')</script>
If you are between two sizes, pick the larger one for a relaxed fit.
"""

DRAFT = "---\ntitle: Secret launch\nstatus: draft\n---\nThe winter collection launches on Friday.\n"


@pytest.fixture
def site(workspace, tmp_path, django_capture_on_commit_callbacks):
    (tmp_path / "sizing.md").write_text(GUIDE)
    (tmp_path / "secret.md").write_text(DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        import_helpcenter(workspace=workspace, path=tmp_path, actor=Actor.system("test"))
    return workspace


def test_it_lists_published_articles_only(site, client, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get("/help/acme/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Sizing guide" in page and "/help/acme/sizing-guide/" in page
    assert "Secret launch" not in page
    assert "css/oasis.css" in page and "css/helpcenter.css" in page


def test_it_searches_and_links_to_the_cited_heading(site, client):
    response = client.get("/help/acme/", {"q": "I am between two sizes, which one should I choose?"})
    page = response.content.decode()
    assert 'href="/help/acme/sizing-guide/#between-two-sizes"' in page
    assert "winter collection" not in page


def test_it_renders_an_article_sanitized_with_heading_anchors(site, client):
    response = client.get("/help/acme/sizing-guide/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<h2 id="measuring-your-chest">Measuring your chest</h2>' in page
    assert '<h2 id="between-two-sizes">' in page
    assert "<script>alert" not in page


def test_it_404s_for_drafts_unknown_articles_and_unknown_workspaces(site, client, other_workspace):
    assert client.get("/help/acme/secret-launch/").status_code == 404
    assert client.get("/help/acme/no-such-article/").status_code == 404
    assert client.get("/help/nowhere/").status_code == 404
    assert client.get("/help/globex/sizing-guide/").status_code == 404  # another workspace's article


def test_it_shows_an_empty_result_when_nothing_is_indexed(site, client, other_workspace):
    response = client.get("/help/globex/", {"q": "sizes"})
    assert response.status_code == 200
    assert "No article matches your search." in response.content.decode()


# ---------------------------------------------------------------- admin


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@oasis.test", "pw-123-correct")
    client.force_login(user)
    return client


@pytest.fixture
def admin_urls(settings):
    # Rebuild the URLconf so the admin sees the registration made above.
    import importlib

    from django.urls import clear_url_caches

    import oasis.urls

    clear_url_caches()
    importlib.reload(oasis.urls)
    yield
    clear_url_caches()
    importlib.reload(oasis.urls)


def test_the_admin_imports_a_zip_and_a_save_reindexes(
    workspace, admin_client, admin_urls, django_capture_on_commit_callbacks
):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("guides/sizing.md", GUIDE)
        archive.writestr("empty.md", "")
    upload = SimpleUploadedFile("helpcenter.zip", buffer.getvalue(), content_type="application/zip")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/helpdesk/article/import/", {"workspace": workspace.pk, "file": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "empty.md" in page and "empty file" in page
    article = Article.objects.get(workspace=workspace)
    assert Passage.objects.filter(article=article).count() == 3

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"/admin/helpdesk/article/{article.pk}/change/",
            {
                "workspace": workspace.pk,
                "title": article.title,
                "slug": article.slug,
                "url": article.url,
                "body": article.body,
                "status": ArticleStatus.DRAFT,
                "source": article.source,
                "external_id": article.external_id,
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not Passage.objects.filter(article=article).exists()


def test_the_admin_refuses_a_zip_slip(workspace, admin_client, admin_urls):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil.md", GUIDE)
    upload = SimpleUploadedFile("evil.zip", buffer.getvalue())
    response = admin_client.post("/admin/helpdesk/article/import/", {"workspace": workspace.pk, "file": upload})
    assert "Refusing unsafe path" in response.content.decode()
    assert not Article.objects.exists()


def test_the_admin_imports_a_zendesk_json(workspace, admin_client, admin_urls, django_capture_on_commit_callbacks):
    export = {"articles": [{"id": 1, "title": "Hello", "body": "<p>World</p>", "html_url": "https://z.test/1"}]}
    upload = SimpleUploadedFile("export.json", json.dumps(export).encode())
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/helpdesk/article/import/", {"workspace": workspace.pk, "file": upload})
    assert response.status_code == 302
    assert Article.objects.get().external_id == "zendesk:1"


def test_an_agent_cannot_reach_the_import_page(workspace, agent, client, admin_urls):
    agent.is_staff = True
    agent.save()
    client.force_login(agent)
    response = client.get("/admin/helpdesk/article/import/")
    assert response.status_code == 403
