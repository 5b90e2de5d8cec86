"""Help-center import: Markdown (front matter), HTML files, or a Zendesk articles export.

`import_helpcenter` is the one entry point (management command, admin page, trial). Re-import
updates articles in place (matched by external id, then URL), reports what the source no
longer has as "missing" and deletes nothing. Each bad file fails on its own with a reason;
nothing is written for it, so nothing is half-indexed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import frontmatter
import yaml
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify
from frontmatter.default_handlers import YAMLHandler

from audit.services import Actor, audit_record
from helpdesk import hooks
from helpdesk.helpcenter_render import html_to_text, sanitize_html
from helpdesk.models import Article, ArticleStatus, Workspace
from oasis.hygiene import InputRejected, json_loads, strip_bad_chars

MAX_ARTICLE_BYTES: int = getattr(settings, "OASIS_MAX_ARTICLE_BYTES", 512 * 1024)
MAX_EXPORT_BYTES: int = getattr(settings, "OASIS_MAX_HELPCENTER_EXPORT_BYTES", 200 * 1024 * 1024)
MAX_ZIP_MEMBERS = 5000
# What one .zip may unpack to, counted on the bytes actually written (a lying header is caught
# by the CRC check, an honest one by this cap).
MAX_UNPACKED_BYTES: int = getattr(settings, "OASIS_MAX_HELPCENTER_UNPACKED_BYTES", 200 * 1024 * 1024)
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
JSON_SUFFIXES = frozenset({".json"})
SOURCE_MARKDOWN, SOURCE_HTML, SOURCE_ZENDESK = "markdown", "html", "zendesk"

Progress = Callable[[int, int], None]


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    changed_ids: list[int] = field(default_factory=list)
    unpublished: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "failed": len(self.failed),
            "missing": len(self.missing),
            "unpublished": len(self.unpublished),
        }

    def summary(self) -> str:
        lines = [", ".join(f"{key}: {value}" for key, value in self.counts().items())]
        lines += [f"failed  {origin}: {reason}" for origin, reason in self.failed]
        lines += [f"missing {label} (no longer in the source; kept, not deleted)" for label in self.missing]
        lines += [f"unpublished {label} (no longer in the source; kept as a draft)" for label in self.unpublished]
        return "\n".join(lines)


class ImportFileError(Exception):
    """One file or export entry cannot be imported; the message says why."""


@dataclass(frozen=True)
class ParsedArticle:
    origin: str
    title: str
    url: str
    external_id: str
    body: str
    source: str
    status: str = ArticleStatus.PUBLISHED
    breadcrumb: str = ""  # "Category > Section" where the source has them (Zendesk)


def import_helpcenter(
    *,
    workspace: Workspace,
    path: Path | str,
    actor: Actor,
    progress: Progress | None = None,
    schedule_index: bool = True,
) -> ImportReport:
    """Import a folder or a single file into the workspace's help center; see module docstring."""
    root = Path(path)
    report = ImportReport()
    if not root.exists():
        report.failed.append((str(root), "no such file or folder"))
        return report
    files = _source_files(root, report)
    parsed: list[ParsedArticle] = []
    sources: set[str] = set()
    for file in files:
        origin = str(file.relative_to(root)) if root.is_dir() else file.name
        sources.add(_source_of(file))
        try:
            parsed.extend(_parse_file(file, origin))
        except ImportFileError as exc:
            report.failed.append((origin, str(exc)))
    import_articles(
        workspace=workspace,
        items=parsed,
        report=report,
        actor=actor,
        audit={"path": str(root)},
        missing_of=Article.objects.filter(workspace=workspace, source__in=sources),
        progress=progress,
        schedule_index=schedule_index,
    )
    return report


def import_articles(
    *,
    workspace: Workspace,
    items: list[ParsedArticle],
    report: ImportReport,
    actor: Actor,
    audit: dict[str, Any],
    missing_of: QuerySet[Article],
    unpublish_missing: bool = False,
    progress: Progress | None = None,
    schedule_index: bool = True,
) -> ImportReport:
    """Upsert parsed articles in one transaction (each one in a savepoint: a bad one fails alone),
    list what the source no longer has (the articles of `missing_of` not in `items`) and, for a
    synced source, unpublish it (kept as a draft, never deleted), audit it all in one event, and
    re-index what changed after commit. An article whose title and body hash the same as before
    is left as it is (nothing to re-index)."""
    items = _drop_duplicates([_clean(item) for item in items], report)
    seen: set[int] = set()
    with transaction.atomic():
        for done, item in enumerate(items, start=1):
            try:
                with transaction.atomic():
                    outcome, article = _upsert(workspace, item)
            except (ValidationError, ImportFileError) as exc:
                report.failed.append((item.origin, _reason(exc)))
            else:
                seen.add(article.pk)
                getattr(report, outcome).append(item.origin)
                if outcome != "unchanged":
                    report.changed_ids.append(article.pk)
            if progress:
                progress(done, len(items))
        unpublished_ids: list[int] = []
        for article in missing_of.exclude(pk__in=seen).order_by("pk"):
            label = f"{article.title} ({article.url or article.external_id or article.slug})"
            if not unpublish_missing:
                report.missing.append(label)
            elif article.status == ArticleStatus.PUBLISHED:
                unpublished_ids.append(article.pk)
                report.unpublished.append(label)
        if unpublished_ids:
            Article.objects.filter(pk__in=unpublished_ids).update(status=ArticleStatus.DRAFT)
            report.changed_ids.extend(unpublished_ids)
        audit_record(
            workspace=workspace,
            actor=actor,
            kind="helpcenter.imported",
            data={
                **audit,
                **report.counts(),
                "changed_article_ids": report.changed_ids[:1000],
                "failures": [f"{o}: {r}" for o, r in report.failed[:200]],
                "unpublished": report.unpublished[:200],
            },
        )
        if schedule_index:
            hooks.articles_changed.fire(report.changed_ids)
    return report


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return (
            "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            if hasattr(exc, "error_dict")
            else " ".join(exc.messages)
        )
    return str(exc)


def _source_files(root: Path, report: ImportReport) -> list[Path]:
    if root.is_file():
        return [root]
    out: list[Path] = []
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in file.relative_to(root).parts):
            continue
        if file.suffix.lower() in MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES:
            out.append(file)
        else:
            report.skipped.append(str(file.relative_to(root)))
    return out


def _source_of(file: Path) -> str:
    suffix = file.suffix.lower()
    if suffix in HTML_SUFFIXES:
        return SOURCE_HTML
    if suffix in JSON_SUFFIXES:
        return SOURCE_ZENDESK
    return SOURCE_MARKDOWN


def _parse_file(file: Path, origin: str) -> list[ParsedArticle]:
    suffix = file.suffix.lower()
    if suffix not in MARKDOWN_SUFFIXES | HTML_SUFFIXES | JSON_SUFFIXES:
        raise ImportFileError(f"unsupported file type {suffix or '(none)'}: use .md, .html or a Zendesk .json export")
    limit = MAX_EXPORT_BYTES if suffix in JSON_SUFFIXES else MAX_ARTICLE_BYTES
    size = file.stat().st_size
    if size > limit:
        raise ImportFileError(f"file is {size:,} bytes; the limit is {limit:,}")
    text = _read_text(file.read_bytes())
    if suffix in MARKDOWN_SUFFIXES:
        return [_parse_markdown(text, origin)]
    if suffix in HTML_SUFFIXES:
        return [_parse_html(text, origin)]
    return list(_parse_zendesk(text, origin))


def _read_text(data: bytes) -> str:
    if not data.strip():
        raise ImportFileError("empty file")
    if b"\x00" in data:
        raise ImportFileError("binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"not UTF-8 text (byte {exc.start})") from None


def check_article_body(body: str) -> None:
    if not body.strip():
        raise ImportFileError("the article has no body")
    size = len(body.encode())
    if size > MAX_ARTICLE_BYTES:
        raise ImportFileError(f"article body is {size:,} bytes; the limit is {MAX_ARTICLE_BYTES:,}")


def _check_url(url: str) -> str:
    url = url.strip()
    if url:
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError:
            raise ImportFileError(f"invalid url {url!r}") from None
    return url


def _status(value: Any) -> str:
    text = str(value or ArticleStatus.PUBLISHED).strip().lower()
    if text not in ArticleStatus.values:
        raise ImportFileError(f"status must be one of {ArticleStatus.values}, got {text!r}")
    return text


_MD_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _clean(item: ParsedArticle) -> ParsedArticle:
    # NUL and lone surrogates (a JSON "\u0000", a YAML "\0") cannot be stored and mean nothing in
    # an article: dropped, so the rest of the article is kept.
    return dataclasses.replace(
        item,
        title=strip_bad_chars(item.title),
        url=strip_bad_chars(item.url),
        external_id=strip_bad_chars(item.external_id),
        body=strip_bad_chars(item.body),
    )


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors' aliases: front matter needs none, and a few nested aliases
    expand tenfold per level when the values are read (a 354-byte file took seconds)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not allowed in front matter",
                self.peek_event().start_mark,  # type: ignore[no-untyped-call]
            )
        return super().compose_node(parent, index)


class _FrontMatter(YAMLHandler):
    def load(self, fm: str, **kwargs: object) -> Any:
        return yaml.load(fm, Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader subclass)


def _parse_markdown(text: str, origin: str) -> ParsedArticle:
    try:
        post = frontmatter.loads(text, handler=_FrontMatter())
    except Exception as exc:  # the YAML parser raises many types; each is a bad front matter
        raise ImportFileError(f"bad front matter: {exc}") from None
    meta = post.metadata if isinstance(post.metadata, dict) else {}
    body = post.content.strip()
    title = str(meta.get("title") or "").strip()
    if not title:
        match = _MD_HEADING.search(body)
        if not match:
            raise ImportFileError("no title: add `title:` to the front matter or start with a '# ' heading")
        title = match.group(1).strip()
    leading = _MD_HEADING.match(body)
    if leading and leading.group(1).strip() == title:
        # The page shows the title itself; a repeated leading "# Title" would show twice.
        body = body[leading.end() :].strip()
    check_article_body(body)
    return ParsedArticle(
        origin=origin,
        title=title,
        url=_check_url(str(meta.get("url") or "")),
        external_id=str(meta.get("id") or f"file:{origin}"),
        body=body,
        source=SOURCE_MARKDOWN,
        status=_status(meta.get("status")),
    )


class _HTMLParts(HTMLParser):
    """Finds <title>, the first <h1> and whether the document has any text at all."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.h1 = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("title", "h1") and not getattr(self, tag):
            self._in = tag

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "title":
            self.title += data
        elif self._in == "h1":
            self.h1 += data


_BODY = re.compile(r"<body[^>]*>(.*?)(?:</body>|$)", re.IGNORECASE | re.DOTALL)
_HEAD = re.compile(r"<head[^>]*>.*?(?:</head>|$)", re.IGNORECASE | re.DOTALL)
_FIRST_H1 = re.compile(r"<h1(?:\s[^>]*)?>(.*?)</h1>", re.IGNORECASE | re.DOTALL)


def first_heading(body: str) -> str:
    """The text of the body's first <h1>, whitespace collapsed ("" when it has none)."""
    match = _FIRST_H1.search(body)
    return " ".join(html_to_text(match.group(1)).split()) if match else ""


def drop_title_heading(body: str, title: str) -> str:
    """The body without its first <h1> when that heading equals the title: the article page shows
    the title already, so keeping it would print it twice."""
    match = _FIRST_H1.search(body)
    if match and " ".join(html_to_text(match.group(1)).split()) == title:
        return (body[: match.start()] + body[match.end() :]).strip()
    return body


def _parse_html(text: str, origin: str) -> ParsedArticle:
    parts = _HTMLParts()
    parts.feed(text)
    parts.close()
    title = " ".join((parts.title or parts.h1).split())
    if not title:
        raise ImportFileError("no title: the HTML has neither <title> nor <h1>")
    match = _BODY.search(text)
    body_html = match.group(1) if match else _HEAD.sub("", text)
    body = sanitize_html(body_html).strip()
    body = drop_title_heading(body, title)
    if not html_to_text(body):
        raise ImportFileError("no readable text in the HTML body (broken or empty HTML)")
    check_article_body(body)
    url = _meta_url(text)
    return ParsedArticle(
        origin=origin, title=title[:300], url=url, external_id=f"file:{origin}", body=body, source=SOURCE_HTML
    )


_CANONICAL = re.compile(r"<link[^>]+rel=[\"']canonical[\"'][^>]*>", re.IGNORECASE)
_HREF = re.compile(r"href=[\"']([^\"']+)[\"']", re.IGNORECASE)


def _meta_url(text: str) -> str:
    link = _CANONICAL.search(text)
    href = _HREF.search(link.group(0)) if link else None
    if not href:
        return ""
    try:
        return _check_url(href.group(1))
    except ImportFileError:
        return ""


def _parse_zendesk(text: str, origin: str) -> Iterator[ParsedArticle]:
    try:
        data = json_loads(text, where="export", allow_bad_chars=True)
    except InputRejected as exc:
        raise ImportFileError(str(exc)) from None
    except ValueError as exc:
        raise ImportFileError(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("articles"), list):
        raise ImportFileError('not a Zendesk articles export: expected {"articles": [...]}')
    for index, entry in enumerate(data["articles"]):
        label = f"{origin}#articles[{index}]"
        if isinstance(entry, dict) and entry.get("id") is not None:
            label = f"{origin}#{entry['id']}"
        try:
            yield zendesk_article(entry, origin=label)
        except ImportFileError as exc:
            yield _failed(label, str(exc))


def zendesk_article(entry: Any, *, origin: str, breadcrumb: str = "") -> ParsedArticle:
    """One article of a Zendesk export or of its Help Center API, or ImportFileError."""
    if not isinstance(entry, dict):
        raise ImportFileError("entry is not an object")
    title = " ".join(str(entry.get("title") or "").split())
    if not title:
        raise ImportFileError("no title")
    if entry.get("id") in (None, ""):
        raise ImportFileError("no id")
    body = sanitize_html(str(entry.get("body") or "")).strip()
    if not html_to_text(body):
        raise ImportFileError("the article has no body")
    check_article_body(body)
    return ParsedArticle(
        origin=origin,
        title=title[:300],
        url=_check_url(str(entry.get("html_url") or "")),
        external_id=f"zendesk:{entry['id']}",
        body=body,
        source=SOURCE_ZENDESK,
        status=ArticleStatus.DRAFT if entry.get("draft") is True else ArticleStatus.PUBLISHED,
        breadcrumb=breadcrumb[:300],
    )


def _failed(origin: str, reason: str) -> ParsedArticle:
    # A placeholder carried to the upsert loop so entry-level failures keep their order.
    return ParsedArticle(origin=origin, title="", url="", external_id="", body=reason, source="")


def _drop_duplicates(items: list[ParsedArticle], report: ImportReport) -> list[ParsedArticle]:
    keep: list[ParsedArticle] = []
    urls: dict[str, str] = {}
    ids: dict[str, str] = {}
    for item in items:
        if not item.source:
            report.failed.append((item.origin, item.body))
            continue
        if item.url and item.url in urls:
            report.failed.append((item.origin, f"duplicate URL {item.url} (already in {urls[item.url]})"))
            continue
        if item.external_id in ids:
            report.failed.append((item.origin, f"duplicate id {item.external_id} (already in {ids[item.external_id]})"))
            continue
        if item.url:
            urls[item.url] = item.origin
        ids[item.external_id] = item.origin
        keep.append(item)
    return keep


def _upsert(workspace: Workspace, item: ParsedArticle) -> tuple[str, Article]:
    existing = Article.objects.select_for_update().filter(
        workspace=workspace, external_id=item.external_id
    ).first() or (
        Article.objects.select_for_update().filter(workspace=workspace, url=item.url).first() if item.url else None
    )
    fields = {
        "title": item.title,
        "url": item.url,
        "body": item.body,
        "status": item.status,
        "source": item.source,
        "external_id": item.external_id,
        "breadcrumb": item.breadcrumb,
        "content_hash": content_hash(item.title, item.body),
    }
    if existing is None:
        article = Article(workspace=workspace, slug=_unique_slug(workspace, item.title), **fields)
        article.full_clean()
        article.save()
        return "created", article
    if all(getattr(existing, name) == value for name, value in fields.items()):
        return "unchanged", existing
    for name, value in fields.items():
        setattr(existing, name, value)
    existing.full_clean()
    existing.save()
    return "updated", existing


def content_hash(title: str, body: str) -> str:
    """What decides whether a re-synced page changed (and is re-indexed): its title and text."""
    return hashlib.sha256(f"{title}\n\n{body}".encode()).hexdigest()


def _unique_slug(workspace: Workspace, title: str) -> str:
    base = slugify(title)[:190] or "article"
    taken = set(Article.objects.filter(workspace=workspace, slug__startswith=base).values_list("slug", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def unpack_zip(source: Any, target: Path) -> Path:
    """Unpack an uploaded .zip of a help center into `target`, or raise ImportFileError.

    Damaged archives (bad headers, CRC errors), entries that would land outside `target`, a
    file and a folder of the same name, and archives that unpack to too much are refused whole.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError):
        raise ImportFileError("The .zip file is damaged.") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_ZIP_MEMBERS:
            raise ImportFileError(f"The .zip holds more than {MAX_ZIP_MEMBERS} files.")
        if sum(m.file_size for m in members) > MAX_UNPACKED_BYTES:
            raise ImportFileError("The .zip unpacks to too much data.")
        root = target.resolve()
        plan = _zip_plan(members, root)
        written = 0
        for member, destination in plan:
            try:
                destination.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(member) as data, destination.open("wb") as out:
                    while chunk := data.read(1024 * 1024):
                        written += len(chunk)
                        if written > MAX_UNPACKED_BYTES:
                            raise ImportFileError("The .zip unpacks to too much data.")
                        out.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise ImportFileError(f"The .zip file is damaged ({member.filename}: {exc}).") from None
            except (NotImplementedError, RuntimeError) as exc:  # an unknown method, an encrypted entry
                raise ImportFileError(f"Cannot unpack {member.filename} from the .zip: {exc}") from None
    return target


def _zip_plan(members: list[zipfile.ZipInfo], root: Path) -> list[tuple[zipfile.ZipInfo, Path]]:
    """Where each file entry goes; refuses unsafe paths and names used twice or as a folder."""
    files: dict[Path, str] = {}
    folders: set[Path] = set()
    plan: list[tuple[zipfile.ZipInfo, Path]] = []
    for member in members:
        destination = (root / member.filename).resolve()
        # Refuse entries that would land outside the folder (zip-slip).
        if not destination.is_relative_to(root) or destination == root:
            raise ImportFileError(f"Refusing unsafe path in the .zip: {member.filename}")
        folders.update(p for p in destination.parents if p.is_relative_to(root) and p != root)
        if member.is_dir():
            folders.add(destination)
            continue
        key = Path(str(destination).casefold())
        if key in files:
            raise ImportFileError(f"The .zip holds two files named {member.filename}.")
        files[key] = member.filename
        plan.append((member, destination))
    for folder in folders:
        clash = files.get(Path(str(folder).casefold()))
        if clash is not None:
            raise ImportFileError(f"The .zip holds both a file and a folder named {clash}.")
    return plan


@transaction.atomic
def article_save(*, article: Article, actor: Actor) -> Article:
    """Create or update one article by hand (admin); the index follows after commit."""
    created = article.pk is None
    if not article.slug:
        article.slug = _unique_slug(article.workspace, article.title)
    if not article.source:
        article.source = "admin"
    article.full_clean()
    article.save()
    audit_record(
        workspace=article.workspace,
        actor=actor,
        kind="article.created" if created else "article.updated",
        data={"article_id": article.pk, "title": article.title, "status": article.status},
    )
    hooks.articles_changed.fire([article.pk])
    return article
