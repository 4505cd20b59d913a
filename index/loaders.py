"""Read bulletin files of any supported kind into parsed ``Bulletin`` objects.

A file that cannot be read is never fatal: ``load_file`` raises ``SkipFile``
with a reason the build report shows (unknown extension, empty, binary,
undecodable, broken PDF/DOCX).
"""

from __future__ import annotations

import json
import logging
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.articles import Bulletin, find_city, parse_bulletin
from index.dates import mtime_date

log = logging.getLogger(__name__)

SUPPORTED = (".txt", ".md", ".pdf", ".docx", ".html", ".htm")
MANIFEST = "manifest.json"
# Larger files are skipped (settings.max_file_mb).  A bulletin issue is well under 1 MB of text;
# 50 MB of text would be ~200k chunks: hours of embedding on a CPU, for a file that is not a bulletin.
DEFAULT_MAX_FILE_MB = 20.0
MAX_FILE_BYTES = int(DEFAULT_MAX_FILE_MB * 1024 * 1024)


def max_file_bytes(max_file_mb: float) -> int:
    return int(max_file_mb * 1024 * 1024)


class SkipFile(Exception):
    """A corpus file that cannot be indexed; the message says why."""


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def decode_text(data: bytes) -> str:
    """Decode bulletin bytes: UTF-8 (with or without BOM), else GB18030, else ``SkipFile``.

    >>> decode_text("吕梁".encode("gb18030"))
    '吕梁'
    """
    if b"\x00" in data[:8192]:
        raise SkipFile("binary file (contains NUL bytes), not text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SkipFile("not valid UTF-8 or GB18030 text; re-save it as UTF-8")


def _read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, OSError) as exc:  # PyPdfError: also LimitReachedError
        raise SkipFile(f"unreadable PDF ({exc.__class__.__name__}: {exc})") from exc
    # A blank line between pages lets the paragraph logic treat it as a page break.
    return "\n\n".join(pages)


def _read_docx(path: Path) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, KeyError, ValueError, OSError, zipfile.BadZipFile, zlib.error, SyntaxError) as exc:
        # BadZipFile/zlib.error: a damaged archive member; SyntaxError: lxml's XMLSyntaxError.
        raise SkipFile(f"unreadable DOCX ({exc.__class__.__name__}: {exc})") from exc
    lines = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name or "").lower() if para.style is not None else ""
        if style.startswith("heading") or style == "title":
            level = 1 if style == "title" else int("".join(c for c in style if c.isdigit()) or 1)
            lines.append("#" * min(level, 6) + " " + text)
        else:
            lines.append(text)
    return "\n\n".join(lines)


def _read_html(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(decode_text(data), "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer", "noscript"]):
        tag.decompose()
    body = soup.body or soup
    lines = []
    for el in body.find_all(["h1", "h2", "h3", "h4", "p", "li", "pre"]):
        text = " ".join(el.get_text(" ", strip=True).split())
        if not text:
            continue
        lines.append("#" * int(el.name[1]) + " " + text if el.name[0] == "h" else text)
    if not lines:  # bare text without block tags
        lines = [ln.strip() for ln in body.get_text("\n").splitlines() if ln.strip()]
    return "\n\n".join(lines)


def read_text(path: Path, max_bytes: int = MAX_FILE_BYTES) -> str:
    """Raw text of a bulletin file (markdown-style ``#`` headings for structured formats).

    A file over ``max_bytes`` is skipped before anything is read.
    """
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise SkipFile(f"unsupported file type '{suffix or path.name}' (supported: {', '.join(SUPPORTED)})")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror}") from exc
    if size == 0:
        raise SkipFile("empty file")
    if size > max_bytes:
        raise SkipFile(f"file too large ({size / 1_048_576:.1f} MB, limit {max_bytes / 1_048_576:.3g} MB: "
                       "BULLETIN_MAX_FILE_MB); split it or raise the limit")
    if suffix == ".pdf":
        text = _read_pdf(path)
    elif suffix == ".docx":
        text = _read_docx(path)
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SkipFile(f"cannot read file: {exc.strerror}") from exc
        text = _read_html(data) if suffix in (".html", ".htm") else decode_text(data)
    if not text.strip():
        raise SkipFile("no text in file (scanned PDF or empty document?)")
    return text


def load_manifest(corpus_dir: Path) -> dict[str, Any]:
    path = corpus_dir / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("ignoring %s: %s", path, exc)
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def apply_manifest(bulletin: Bulletin, entry: dict[str, Any]) -> None:
    """Override derived metadata with what the corpus manifest states for this file."""
    bulletin.issue_title = entry.get("issue_title") or bulletin.issue_title
    if entry.get("date"):
        bulletin.date, bulletin.date_source = str(entry["date"]), "manifest"
    bulletin.issue = entry.get("issue") or bulletin.issue
    specs = entry.get("articles") or []
    if specs and len(specs) != len(bulletin.articles):
        bulletin.warnings.append(
            f"manifest lists {len(specs)} articles but {len(bulletin.articles)} were found; manifest titles not applied"
        )
        return
    for article, spec in zip(bulletin.articles, specs):
        article.city = spec.get("city") or article.city
        article.title = spec.get("title") or article.title
        article.source_unit = spec.get("source_unit") or article.source_unit


def load_file(path: Path, source: str, manifest_entry: dict[str, Any] | None = None,
              max_bytes: int = MAX_FILE_BYTES) -> Bulletin:
    """Load and parse one file; raises ``SkipFile`` when it cannot be indexed."""
    bulletin = parse_bulletin(read_text(path, max_bytes), source)
    if not bulletin.articles:
        raise SkipFile("no paragraphs of body text found")
    if manifest_entry:
        apply_manifest(bulletin, manifest_entry)
    for article in bulletin.articles:
        article.city = article.city or find_city(article.title)
    if not bulletin.date:
        bulletin.date, bulletin.date_source = mtime_date(path.stat().st_mtime), "mtime"
    return bulletin


def iter_corpus_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` (sorted, hidden files and the manifest left out)."""
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and path.name != MANIFEST and not any(part.startswith(".") for part in rel.parts):
            yield path
