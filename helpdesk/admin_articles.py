"""Admin for help-center articles: edit, re-index, and import a help center.

helpdesk/admin.py registers `ArticleAdmin` (this module does not register itself).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from audit.services import Actor
from helpdesk import hooks
from helpdesk.helpcenter_import import ImportFileError, ImportReport, article_save, import_helpcenter, unpack_zip
from helpdesk.models import Article, Role, Workspace

EDIT_ROLES = (Role.MANAGER, Role.ADMIN)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class HelpCenterImportForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=Workspace.objects.all())
    file = forms.FileField(
        help_text="A .zip of Markdown/HTML files, a Zendesk articles export (.json), or one .md/.html file."
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        if Path(upload.name).suffix.lower() not in {".zip", ".json", ".md", ".markdown", ".html", ".htm"}:
            raise forms.ValidationError("Upload a .zip, .json, .md or .html file.")
        return upload


def _unpack(upload: Any, target: Path) -> Path:
    name = Path(upload.name).name
    if name.lower().endswith(".zip"):
        try:
            return unpack_zip(upload, target)
        except ImportFileError as exc:
            raise forms.ValidationError(str(exc)) from None
    destination = target / name
    with destination.open("wb") as fh:
        for chunk in upload.chunks():
            fh.write(chunk)
    return destination


class ArticleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["title", "workspace", "status", "source", "updated_at"]
    # Related-only: the filter must not list the names of workspaces the user is not in.
    list_filter = [("workspace", admin.RelatedOnlyFieldListFilter), "status", "source"]
    search_fields = ["title", "url", "external_id"]
    readonly_fields = ["updated_at"]
    actions = ["reindex"]
    change_list_template = "helpcenter/admin_article_change_list.html"

    # Scope: a superuser sees every workspace; staff see the workspaces they belong to and
    # edit (or import into) those where they are a manager or an admin.
    def _workspace_ids(self, request: HttpRequest, *, editing: bool) -> set[int] | None:
        if request.user.is_active and request.user.is_superuser:
            return None
        if not request.user.is_staff:
            return set()
        # The roles read once per request (helpdesk.admin imports this module at its end).
        from helpdesk.admin import member_roles

        return {ws for ws, role in member_roles(request).items() if not editing or role in EDIT_ROLES}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Article]:
        queryset = super().get_queryset(request).select_related("workspace")
        ids = self._workspace_ids(request, editing=False)
        return queryset if ids is None else queryset.filter(workspace_id__in=ids)

    def _may(self, request: HttpRequest, obj: Article | None, *, editing: bool) -> bool:
        ids = self._workspace_ids(request, editing=editing)
        if ids is None:
            return True
        return bool(ids) if obj is None else obj.workspace_id in ids

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._may(request, None, editing=False)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj, editing=False)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may(request, obj, editing=True)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._may(request, None, editing=True)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Unpublish (status draft) instead: deleting would silently drop cited passages.
        return False

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.related_model is Workspace:
            kwargs["queryset"] = self._editable_workspaces(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _editable_workspaces(self, request: HttpRequest) -> QuerySet[Workspace]:
        ids = self._workspace_ids(request, editing=True)
        return Workspace.objects.all() if ids is None else Workspace.objects.filter(pk__in=ids)

    def save_model(self, request: HttpRequest, obj: Article, form: Any, change: bool) -> None:
        article_save(article=obj, actor=Actor.for_user(request.user))

    @admin.action(description="Re-index selected articles")
    def reindex(self, request: HttpRequest, queryset: QuerySet[Article]) -> None:
        total = 0
        for workspace_id in set(queryset.values_list("workspace_id", flat=True)):
            if not self._may(request, Article(workspace_id=workspace_id), editing=True):
                raise PermissionDenied
            ids = list(queryset.filter(workspace_id=workspace_id).values_list("pk", flat=True))
            hooks.articles_reindex.fire(
                hooks.ReindexRequest(
                    workspace=Workspace.objects.get(pk=workspace_id),
                    actor=Actor.for_user(request.user),
                    article_ids=ids,
                )
            )
            total += len(ids)
        self.message_user(request, f"{total} articles queued for re-indexing (only changed passages are re-embedded).")

    def get_urls(self) -> list[Any]:
        extra: list[URLPattern] = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="helpdesk_article_import",
            )
        ]
        return extra + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        report: ImportReport | None = None
        form = HelpCenterImportForm(request.POST or None, request.FILES or None)
        form.fields["workspace"].queryset = self._editable_workspaces(request)  # type: ignore[attr-defined]
        if request.method == "POST" and form.is_valid():
            with tempfile.TemporaryDirectory(prefix="helpcenter-") as tmp:
                try:
                    source = _unpack(form.cleaned_data["file"], Path(tmp))
                except forms.ValidationError as exc:
                    form.add_error("file", exc)
                else:
                    report = import_helpcenter(
                        workspace=form.cleaned_data["workspace"], path=source, actor=Actor.for_user(request.user)
                    )
            if report is not None:
                level = messages.WARNING if report.failed else messages.SUCCESS
                counts = ", ".join(f"{k} {v}" for k, v in report.counts().items())
                self.message_user(request, f"Help center imported: {counts}.", level)
                if not report.failed and not report.missing:
                    return redirect("admin:helpdesk_article_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import help center",
            "form": form,
            "report": report,
        }
        return TemplateResponse(request, "helpcenter/admin_import.html", context)
