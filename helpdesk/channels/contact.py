"""The help center's contact form (/help/<slug>/contact/) with suggested articles (deflection)."""

from __future__ import annotations

from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from helpdesk.channels.ratelimit import rate_limited
from helpdesk.hooks import article_search
from helpdesk.models import Article, ArticleStatus, Workspace
from helpdesk.services_channels import (
    ATTACHMENT_MAX_BYTES,
    ATTACHMENT_MAX_FILES,
    Upload,
    contact_submit,
    deflection_record,
)
from helpdesk.throttle import throttle

MAX_REQUEST_BYTES = ATTACHMENT_MAX_FILES * ATTACHMENT_MAX_BYTES + 256 * 1024
MAX_QUERY_CHARS = 300
SUGGESTIONS = 5


class ContactForm(forms.Form):
    name = forms.CharField(max_length=200, required=False)
    email = forms.EmailField(max_length=254)
    subject = forms.CharField(max_length=200)
    message = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=10000)


def _uploads(request: HttpRequest) -> list[Upload]:
    files = request.FILES.getlist("attachments")
    if len(files) > ATTACHMENT_MAX_FILES:
        raise ValidationError(f"At most {ATTACHMENT_MAX_FILES} files.")
    uploads: list[Upload] = []
    for f in files:
        if (f.size or 0) > ATTACHMENT_MAX_BYTES:
            raise ValidationError(f"{f.name}: larger than 5 MB.")
        uploads.append(Upload(filename=str(f.name or "file"), content_type=str(f.content_type or ""), data=f.read()))
    return uploads


def _suggestions(workspace: Workspace, query: str) -> list[dict[str, str]]:
    query = query.strip()[:MAX_QUERY_CHARS]
    if len(query) < 3:
        return []
    seen: set[str] = set()
    found: list[dict[str, str]] = []
    for hit in article_search(workspace=workspace, query=query, k=SUGGESTIONS * 2):
        if hit.article_slug in seen:
            continue
        seen.add(hit.article_slug)
        link = reverse("helpcenter:contact_deflect", args=[workspace.slug, hit.article_slug])
        found.append({"title": hit.article_title, "url": f"{link}?{urlencode({'q': query})}", "text": hit.text})
        if len(found) >= SUGGESTIONS:
            break
    return found


@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    workspace = get_object_or_404(Workspace, slug=workspace_slug)
    form = ContactForm(request.POST or None)
    upload_error = ""
    if request.method == "POST":
        if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_REQUEST_BYTES:
            return HttpResponse("The form is too large (3 files of 5 MB at most).", status=413)
        limited = throttle(
            request,
            scope="contact",
            workspace_key=workspace.slug,
            account=str(request.POST.get("email", "")),
            workspaces=lambda: [workspace],
        )
        if limited is not None:
            return limited
        try:
            uploads = _uploads(request)
        except ValidationError as exc:
            upload_error, uploads = " ".join(exc.messages), []
        if form.is_valid() and not upload_error:
            try:
                ticket = contact_submit(
                    workspace=workspace,
                    email=form.cleaned_data["email"],
                    name=form.cleaned_data["name"],
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["message"],
                    uploads=uploads,
                )
            except ValidationError as exc:
                upload_error = " ".join(
                    str(m) for ms in getattr(exc, "message_dict", {"": exc.messages}).values() for m in ms
                )
            else:
                return render(request, "channels/contact_sent.html", {"workspace": workspace, "ticket": ticket})
    query = f"{form.data.get('subject', '')} {form.data.get('message', '')}" if form.is_bound else ""
    return render(
        request,
        "channels/contact.html",
        {
            "workspace": workspace,
            "form": form,
            "upload_error": upload_error,
            "suggestions": _suggestions(workspace, query) if query.strip() else [],
            "max_files": ATTACHMENT_MAX_FILES,
        },
        status=400 if request.method == "POST" else 200,
    )


@require_GET
@rate_limited("suggest")
def suggest(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    """The HTMX partial under the form: articles that may answer what the customer is typing."""
    workspace = get_object_or_404(Workspace, slug=workspace_slug)
    query = " ".join(request.GET.get(k, "") for k in ("q", "subject", "message"))
    return render(
        request,
        "channels/contact.html#suggestions",
        {"workspace": workspace, "suggestions": _suggestions(workspace, query)},
    )


@require_GET
@rate_limited("deflect")
def deflect(request: HttpRequest, workspace_slug: str, article_slug: str) -> HttpResponse:
    """A suggested article was clicked instead of sending the form: count it, then show it."""
    workspace = get_object_or_404(Workspace, slug=workspace_slug)
    article = get_object_or_404(Article, workspace=workspace, slug=article_slug, status=ArticleStatus.PUBLISHED)
    deflection_record(workspace=workspace, article_slug=article.slug, query=request.GET.get("q", ""))
    return redirect("helpcenter:article", workspace_slug=workspace.slug, article_slug=article.slug)
