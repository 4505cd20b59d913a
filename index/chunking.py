"""Sentence-aware chunking of parsed bulletins into ``Chunk`` values.

Chunks never cross a paragraph, never split a sentence (so never a figure such
as 24.07 or -2.6%), and never separate an item heading (一是…。) from its first
sentence.  Ids derive from source, article, offsets and text, so an unchanged
passage keeps its id across builds.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from index.articles import ITEM_RE, Article, Bulletin, Paragraph
from index.cleaning import split_sentences
from index.types import Chunk

CHUNKER_NAME = "zh-sentences"
CHUNKER_REVISION = 6  # bump on any change that alters chunks (6: an article's city never starts inside a name)


def chunker_version(chunk_chars: int) -> str:
    """Version string stored with an index; it changes whenever chunks would change.

    >>> chunker_version(200)
    'zh-sentences/6/200'
    """
    return f"{CHUNKER_NAME}/{CHUNKER_REVISION}/{chunk_chars}"


def chunk_id(source: str, article_index: int, start: int, end: int, text: str) -> str:
    """Stable id of a passage.

    >>> chunk_id("a.txt", 0, 0, 5, "吕梁市商务局")
    'c-e6037d43830282d2'
    """
    key = f"{source}\x00{article_index}\x00{start}\x00{end}\x00{text}"
    return "c-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def group_sentences(spans: list[tuple[int, int]], target: int, keep_first_with_next: bool) -> list[tuple[int, int]]:
    """Group consecutive sentence spans into chunks of about ``target`` characters.

    A sentence longer than ``target`` stays whole; a short tail is merged into the
    chunk before it; with ``keep_first_with_next`` the first sentence (an item
    heading) always shares a chunk with the second.

    >>> group_sentences([(0, 50), (50, 100), (100, 150), (150, 160)], 100, False)
    [(0, 100), (100, 160)]
    >>> group_sentences([(0, 10), (10, 150)], 100, True)
    [(0, 150)]
    """
    groups: list[list[int]] = []
    for i, (a, b) in enumerate(spans):
        if groups:
            g_start = groups[-1][0]
            glued = keep_first_with_next and i == 1
            if glued or b - g_start <= target:
                groups[-1][1] = b
                continue
        groups.append([a, b])
    if len(groups) > 1 and groups[-1][1] - groups[-1][0] < target // 3:
        tail = groups.pop()
        groups[-1][1] = tail[1]
    return [(a, b) for a, b in groups]


def _is_heading_only(para: Paragraph) -> bool:
    """An item heading printed as a paragraph of its own (「一是加快项目建设。」 alone on a line)."""
    return bool(para.section) and bool(ITEM_RE.match(para.text)) and len(split_sentences(para.text)) == 1


def _paragraph_chunks(
    bulletin: Bulletin, article: Article, para: Paragraph, target: int, lead: Paragraph | None = None
) -> Iterator[Chunk]:
    """Chunks of one paragraph; a heading-only ``lead`` paragraph joins its first chunk."""
    spans = split_sentences(para.text)
    is_item_start = bool(ITEM_RE.match(para.text)) and bool(para.section)
    context = " · ".join(x for x in (article.city, article.title, para.section, para.item) if x)
    for n, (a, b) in enumerate(group_sentences(spans, target, keep_first_with_next=is_item_start)):
        # Trim surrounding whitespace without losing offset accuracy.
        while a < b and para.text[a].isspace():
            a += 1
        while b > a and para.text[b - 1].isspace():
            b -= 1
        if a == b:
            continue
        text, original = para.text[a:b], para.original_span(a, b)
        start, end = para.start + a, para.start + b
        if lead is not None and n == 0:
            # Never leave an item heading alone: it shares a chunk with the item's first sentence.
            start = lead.start
            text, original = f"{lead.text}\n{para.text[:b]}", f"{lead.original}\n{para.original_span(0, b)}"
        yield Chunk(
            id=chunk_id(bulletin.source, article.index, start, end, text),
            text=text,
            original=original,
            context=context,
            source=bulletin.source,
            article_index=article.index,
            article_title=article.title,
            city=article.city,
            source_unit=article.source_unit,
            section=para.section,
            item=para.item,
            start=start,
            end=end,
            issue_title=bulletin.issue_title,
            date=bulletin.date,
            date_source=bulletin.date_source,
            issue=bulletin.issue,
        )


def _metadata_chunk(bulletin: Bulletin, article: Article | None, label: str, text: str) -> Chunk:
    """A tiny citable chunk for a line the parser keeps as metadata (刊名, 供稿).

    Offsets lie just past the article text, where the line stood in the original.
    """
    base = len(article.text) + 1 if article else 0
    return Chunk(
        id=chunk_id(bulletin.source, article.index if article else -1, base, base + len(text), text),
        text=text,
        original=text,
        context=" · ".join(x for x in (article.city if article else "", article.title if article else "", label) if x),
        source=bulletin.source,
        article_index=article.index if article else -1,
        article_title=article.title if article else "",
        city=article.city if article else "",
        source_unit=article.source_unit if article else "",
        section=label,
        start=base,
        end=base + len(text),
        issue_title=bulletin.issue_title,
        date=bulletin.date,
        date_source=bulletin.date_source,
        issue=bulletin.issue,
    )


def chunk_bulletin(bulletin: Bulletin, target_chars: int) -> list[Chunk]:
    """All chunks of a bulletin, in reading order, then its 供稿 lines and its running title."""
    chunks: list[Chunk] = []
    for article in bulletin.articles:
        body = [p for p in article.paragraphs if not p.is_heading]
        lead: Paragraph | None = None
        for i, para in enumerate(body):
            follower = body[i + 1] if i + 1 < len(body) else None
            if _is_heading_only(para) and follower is not None and follower.item == para.item and lead is None:
                lead = para
                continue
            chunks.extend(_paragraph_chunks(bulletin, article, para, target_chars, lead))
            lead = None
        if article.source_unit:
            chunks.append(_metadata_chunk(bulletin, article, "供稿", f"供稿：{article.source_unit}"))
    if bulletin.issue_title:
        chunks.append(_metadata_chunk(bulletin, None, "刊名", bulletin.issue_title))
    return chunks


def passages_from_jsonl(lines: Iterable[str], source: str) -> Iterator[Chunk]:
    """Chunks from a jsonl of ``{"id", "text"}`` passages: one passage, one chunk, id kept."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            pid, text = str(record["id"]), str(record["text"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{source}:{n}: expected a JSON object with 'id' and 'text' ({exc})") from exc
        if text.strip():
            yield Chunk(id=pid, text=text, original=text, source=source)


def read_passages(path: Path) -> list[Chunk]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return list(passages_from_jsonl(fh, path.name))
