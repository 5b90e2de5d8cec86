"""Trial uploads: capped before they reach the disk, and never left behind by a trial that failed."""

from __future__ import annotations

import io

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory

from ai.models import TrialRun
from oasis.uploads import CappedUploadHandler, UploadTooLarge

pytest_plugins = ["tests.edge_support"]
UPLOADS = django_settings.BASE_DIR / "var" / "trial" / "uploads"


def upload_folders() -> set[str]:
    return {p.name for p in UPLOADS.iterdir()} if UPLOADS.is_dir() else set()


@pytest.fixture
def temp_uploads(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # every file spools to a temporary file
    return tmp_path


def test_it_refuses_an_oversized_upload_before_writing_it(manager_client, settings, temp_uploads):
    settings.OASIS_MAX_UPLOAD_BYTES = 1024 * 1024
    before = upload_folders()
    big = SimpleUploadedFile("tickets.jsonl", b"x" * (2 * 1024 * 1024), content_type="application/jsonl")
    response = manager_client.post("/trial/", {"tickets_file": big, "now": ""})
    assert response.status_code == 413
    assert b"larger than the 1 MB limit" in response.content
    assert upload_folders() == before
    assert list(temp_uploads.iterdir()) == []
    assert not TrialRun.objects.exists()


def test_it_stops_an_upload_that_streams_past_its_declared_length(settings, temp_uploads):
    settings.OASIS_MAX_UPLOAD_BYTES = 1000
    handler = CappedUploadHandler(RequestFactory().post("/trial/"))
    handler.handle_raw_input(io.BytesIO(), {}, 10, "b")  # claims 10 bytes
    handler.receive_data_chunk(b"x" * 600, 0)
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 600, 600)


def test_it_removes_the_uploads_of_a_trial_that_could_not_start(manager_client, temp_uploads):
    before = upload_folders()
    files = {
        "helpcenter_files": SimpleUploadedFile("returns.md", b"---\ntitle: Returns\n---\nWithin 30 days.\n"),
        "tickets_file": SimpleUploadedFile("tickets.jsonl", b'{"external_id": "1", "body": "hi"}\n'),
    }
    response = manager_client.post("/trial/", {**files, "now": "not a date"})
    assert response.status_code == 200
    assert b"is not an ISO 8601 date-time" in response.content
    assert upload_folders() == before


def test_it_removes_the_uploads_once_a_trial_has_failed(
    manager_client, workspace, temp_uploads, django_capture_on_commit_callbacks
):
    before = upload_folders()
    files = {
        "helpcenter_files": SimpleUploadedFile("returns.md", b"---\ntitle: Returns\n---\nWithin 30 days.\n"),
        "tickets_file": SimpleUploadedFile("tickets.jsonl", b"not json at all\n"),
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post("/trial/", files)
    assert response.status_code == 302
    trial = TrialRun.objects.get(workspace=workspace)
    assert trial.status == "failed"
    assert upload_folders() == before
