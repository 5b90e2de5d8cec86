from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from ai.models import Passage
from audit.models import AuditEvent
from audit.services import Actor
from helpdesk.helpcenter_import import MAX_ARTICLE_BYTES, import_helpcenter
from helpdesk.models import Article, ArticleStatus

MD = """---
title: Returns
url: https://acme.test/help/returns
---
# Returns

You can return items within **30 days**.
"""

HTML = """<!doctype html><html><head><title>Shipping times</title>
<link rel="canonical" href="https://acme.test/help/shipping"></head>
<body><h1>Shipping times</h1><p>Orders ship in 2 days.</p><script>alert('x')</script>
<p onclick="steal()">Tracking is emailed.</p></body></html>"""

ZENDESK = {
    "articles": [
        {
            "id": 101,
            "title": "Change your email",
            "body": "<p>Go to <b>Settings</b>.</p>",
            "html_url": "https://acme.zendesk.com/hc/articles/101",
        },
        {
            "id": 102,
            "title": "Delete account",
            "body": "<h2>Before you go</h2><p>Export your data.</p>",
            "html_url": "https://acme.zendesk.com/hc/articles/102",
            "draft": True,
        },
    ]
}


def run(workspace: Any, path: Any) -> Any:
    return import_helpcenter(workspace=workspace, path=path, actor=Actor.system("test"), schedule_index=False)


def test_it_imports_markdown_with_front_matter(workspace, tmp_path):
    (tmp_path / "returns.md").write_text(MD)
    report = run(workspace, tmp_path)
    assert report.created == ["returns.md"] and not report.failed
    article = Article.objects.get(workspace=workspace)
    assert (article.title, article.url, article.slug, article.source) == (
        "Returns",
        "https://acme.test/help/returns",
        "returns",
        "markdown",
    )
    assert article.body == "You can return items within **30 days**."  # the repeated title heading is dropped
    assert article.status == ArticleStatus.PUBLISHED


def test_it_imports_html_sanitized_with_title_and_canonical_url(workspace, tmp_path):
    (tmp_path / "shipping.html").write_text(HTML)
    report = run(workspace, tmp_path)
    assert report.created == ["shipping.html"]
    article = Article.objects.get(workspace=workspace)
    assert article.title == "Shipping times"
    assert article.url == "https://acme.test/help/shipping"
    assert "<script" not in article.body and "onclick" not in article.body and "<h1" not in article.body
    assert "Orders ship in 2 days." in article.body


def test_it_imports_a_zendesk_export_including_drafts(workspace, tmp_path):
    (tmp_path / "export.json").write_text(json.dumps(ZENDESK))
    report = run(workspace, tmp_path / "export.json")
    assert len(report.created) == 2
    rows = {a.external_id: a for a in Article.objects.filter(workspace=workspace)}
    assert rows["zendesk:101"].url == "https://acme.zendesk.com/hc/articles/101"
    assert rows["zendesk:101"].source == "zendesk"
    assert rows["zendesk:102"].status == ArticleStatus.DRAFT


def test_it_updates_in_place_reports_unchanged_and_missing_and_deletes_nothing(workspace, tmp_path):
    (tmp_path / "export.json").write_text(json.dumps(ZENDESK))
    run(workspace, tmp_path)
    first_ids = set(Article.objects.values_list("pk", flat=True))
    changed = {"articles": [{**ZENDESK["articles"][0], "title": "Change your email address"}]}
    (tmp_path / "export.json").write_text(json.dumps(changed))
    report = run(workspace, tmp_path)
    assert report.updated == ["export.json#101"]
    assert report.missing == ["Delete account (https://acme.zendesk.com/hc/articles/102)"]
    assert set(Article.objects.values_list("pk", flat=True)) == first_ids
    article = Article.objects.get(external_id="zendesk:101")
    assert article.title == "Change your email address"
    assert article.slug == "change-your-email"  # URLs stay stable across re-imports
    again = run(workspace, tmp_path)
    assert again.unchanged == ["export.json#101"] and not again.updated


def test_it_matches_by_url_when_a_file_moves(workspace, tmp_path):
    (tmp_path / "returns.md").write_text(MD)
    run(workspace, tmp_path)
    (tmp_path / "returns.md").rename(tmp_path / "returns-policy.md")
    report = run(workspace, tmp_path)
    assert report.unchanged == [] and report.updated == ["returns-policy.md"]
    assert Article.objects.count() == 1


def test_it_fails_bad_files_one_by_one_with_reasons(workspace, tmp_path):
    (tmp_path / "good.md").write_text(MD)
    (tmp_path / "empty.md").write_text("  \n")
    (tmp_path / "binary.html").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (tmp_path / "latin1.md").write_bytes("---\ntitle: Caf\xe9\n---\nbody".encode("latin-1"))
    (tmp_path / "broken.html").write_text("<html><head><title></title></head><body><div><span></div>")
    (tmp_path / "notitle.md").write_text("just some text without a title")
    (tmp_path / "dup.md").write_text(MD.replace("title: Returns", "title: Returns copy"))
    (tmp_path / "huge.md").write_text("---\ntitle: Huge\n---\n" + "word " * (MAX_ARTICLE_BYTES // 5 + 10))
    (tmp_path / "badurl.md").write_text("---\ntitle: Bad url\nurl: javascript:alert(1)\n---\nbody")
    (tmp_path / "other.json").write_text('{"items": []}')
    (tmp_path / "broken.json").write_text('{"articles": [')
    (tmp_path / "picture.png").write_bytes(b"\x89PNG")
    report = run(workspace, tmp_path)
    failed = dict(report.failed)
    assert report.created == ["dup.md"] or report.created == ["good.md"]
    assert failed["empty.md"] == "empty file"
    assert failed["binary.html"] == "binary file, not text"
    assert failed["latin1.md"].startswith("not UTF-8 text")
    assert failed["broken.html"] == "no title: the HTML has neither <title> nor <h1>"
    assert failed["notitle.md"].startswith("no title")
    assert "duplicate URL https://acme.test/help/returns" in failed["good.md"]
    assert "the limit is" in failed["huge.md"]
    assert failed["badurl.md"] == "invalid url 'javascript:alert(1)'"
    assert failed["other.json"].startswith("not a Zendesk articles export")
    assert failed["broken.json"].startswith("invalid JSON")
    assert report.skipped == ["picture.png"]
    assert Article.objects.count() == 1
    event = AuditEvent.objects.get(workspace=workspace, kind="helpcenter.imported")
    assert event.data["created"] == 1 and event.data["failed"] == len(report.failed)


def test_it_reports_broken_html_without_text(workspace, tmp_path):
    (tmp_path / "x.html").write_text("<title>Only a title</title><body><div><p></div>")
    report = run(workspace, tmp_path)
    assert report.failed == [("x.html", "no readable text in the HTML body (broken or empty HTML)")]


def test_it_fails_bad_zendesk_entries_and_keeps_the_good_ones(workspace, tmp_path):
    export = {
        "articles": [
            ZENDESK["articles"][0],
            {"id": 7, "title": "", "body": "<p>x</p>"},
            "nope",
            {"id": 8, "title": "Huge", "body": "<p>" + "a" * (MAX_ARTICLE_BYTES + 1) + "</p>"},
        ]
    }
    (tmp_path / "export.json").write_text(json.dumps(export))
    report = run(workspace, tmp_path)
    assert report.created == ["export.json#101"]
    reasons = dict(report.failed)
    assert reasons["export.json#7"] == "no title"
    assert reasons["export.json#articles[2]"] == "entry is not an object"
    assert "the limit is" in reasons["export.json#8"]


def test_the_command_imports_indexes_and_prints_a_report(workspace, tmp_path):
    (tmp_path / "returns.md").write_text(MD)
    (tmp_path / "empty.md").write_text("")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_helpcenter", str(tmp_path), "--workspace", "acme", "--index-now", stdout=out, stderr=err)
    assert "created: 1, updated: 0, unchanged: 0, failed: 1, missing: 0" in out.getvalue()
    assert "failed  empty.md: empty file" in out.getvalue()
    assert "indexed: 1 passages embedded" in out.getvalue()
    assert "importing [" in err.getvalue() and "indexing [" in err.getvalue()
    assert Passage.objects.filter(workspace=workspace).count() == 1


def test_the_command_refuses_an_unknown_workspace(db, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no workspace"):
        call_command("import_helpcenter", str(tmp_path), "--workspace", "nope")
