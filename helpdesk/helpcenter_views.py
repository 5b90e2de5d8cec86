"""Public help-center pages: no login, published articles of one workspace only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from helpdesk.helpcenter_render import render_article
from helpdesk.hooks import article_search
from helpdesk.models import Article, ArticleStatus, Workspace

MAX_QUERY_CHARS = 500


@require_GET
def home(request: HttpRequest, workspace_slug: str) -> HttpResponse:
    workspace = get_object_or_404(Workspace, slug=workspace_slug)
    query = request.GET.get("q", "").strip()[:MAX_QUERY_CHARS]
    hits = article_search(workspace=workspace, query=query, k=8) if query else []
    articles = (
        Article.objects.filter(workspace=workspace, status=ArticleStatus.PUBLISHED)
        .only("title", "slug")
        .order_by("title")
    )
    return render(
        request,
        "helpcenter/home.html",
        {"workspace": workspace, "query": query, "hits": hits, "articles": articles},
    )


@require_GET
def article(request: HttpRequest, workspace_slug: str, article_slug: str) -> HttpResponse:
    workspace = get_object_or_404(Workspace, slug=workspace_slug)
    item = get_object_or_404(Article, workspace=workspace, slug=article_slug, status=ArticleStatus.PUBLISHED)
    # render_article sanitizes with nh3 (an allow-list) before anything reaches the page.
    body = mark_safe(render_article(item))  # noqa: S308
    return render(request, "helpcenter/article.html", {"workspace": workspace, "article": item, "body": body})
