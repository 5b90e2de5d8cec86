"""Hostile help-center imports: damaged or clashing zips, deep JSON, NUL escapes, YAML aliases.

Each is refused (or cleaned) with a reason in the report or on the admin form, never a 500."""

from __future__ import annotations

import io
import json
import time
import zipfile
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from audit.services import Actor
from helpdesk.helpcenter_import import import_helpcenter
from helpdesk.models import Article

pytest_plugins = ["tests.edge_support"]
IMPORT_URL = "/admin/helpdesk/article/import/"
ARTICLE = "---\ntitle: Returns\n---\nYou can return items within 30 days.\n"


def run(workspace: Any, path: Any) -> Any:
    return import_helpcenter(workspace=workspace, path=path, actor=Actor.system("test"), schedule_index=False)


def zip_bytes(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def upload(superuser_client, workspace, name: str, data: bytes):
    file = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return superuser_client.post(IMPORT_URL, {"workspace": workspace.pk, "file": file})


def test_it_refuses_a_zip_with_a_broken_crc(superuser_client, workspace):
    data = zip_bytes({"returns.md": ARTICLE}).replace(b"within 30 days", b"within 90 days")
    response = upload(superuser_client, workspace, "help.zip", data)
    assert response.status_code == 200
    assert b"The .zip file is damaged (returns.md" in response.content
    assert not Article.objects.exists()


@pytest.mark.parametrize(
    ("entries", "words"),
    [
        ({"guide.md": ARTICLE, "guide.md/returns.md": ARTICLE}, b"both a file and a folder named guide.md"),
        ({"Returns.md": ARTICLE, "returns.md": ARTICLE}, b"two files named returns.md"),
    ],
)
def test_it_refuses_a_zip_whose_names_clash(superuser_client, workspace, entries, words):
    response = upload(superuser_client, workspace, "help.zip", zip_bytes(entries))
    assert response.status_code == 200
    assert words in response.content
    assert not Article.objects.exists()


def test_it_refuses_a_zip_that_unpacks_to_too_much(superuser_client, workspace, settings, monkeypatch):
    monkeypatch.setattr("helpdesk.helpcenter_import.MAX_UNPACKED_BYTES", 1000)
    data = zip_bytes({"returns.md": ARTICLE + "x" * 2000})
    response = upload(superuser_client, workspace, "help.zip", data)
    assert b"unpacks to too much data" in response.content
    assert not Article.objects.exists()


def test_it_still_imports_a_good_zip(superuser_client, workspace):
    response = upload(superuser_client, workspace, "help.zip", zip_bytes({"a/returns.md": ARTICLE}))
    assert response.status_code == 302
    assert Article.objects.get().title == "Returns"


def test_it_refuses_a_deeply_nested_zendesk_export_by_the_admin_page(superuser_client, workspace):
    data = ('{"articles": ' + "[" * 100_000 + "]" * 100_000 + "}").encode()
    response = upload(superuser_client, workspace, "export.json", data)
    assert response.status_code == 200
    assert b"nested more than 64 levels" in response.content
    assert not Article.objects.exists()


def test_it_strips_nul_escapes_from_a_zendesk_export(workspace, tmp_path):
    export = {"articles": [{"id": 7, "title": "Gift\u0000 cards", "body": "<p>Never\u0000 refundable.</p>"}]}
    (tmp_path / "export.json").write_text(json.dumps(export))
    report = run(workspace, tmp_path / "export.json")
    assert report.failed == []
    article = Article.objects.get()
    assert (article.title, article.body) == ("Gift cards", "<p>Never refundable.</p>")


def test_it_refuses_yaml_aliases_in_front_matter_quickly(workspace, tmp_path):
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcde", "bcdef", strict=True):
        levels.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 10)}]")
    (tmp_path / "bomb.md").write_text("---\n" + "\n".join(levels) + "\ntitle: *f\n---\nBody text.\n")
    started = time.monotonic()
    report = run(workspace, tmp_path)
    assert time.monotonic() - started < 1.0
    assert [(origin, "aliases" in reason) for origin, reason in report.failed] == [("bomb.md", True)]
    assert not Article.objects.exists()
