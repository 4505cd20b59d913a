"""Questions about a bulletin's structure: 「太原市下一步工作举措有哪些？」.

Bulletin articles are organised as 【section】 headings with numbered items (一是…、二是…).
A question that names a section and asks nothing more specific wants that section's item
headings, which no single passage holds, so passage extraction cannot answer it.  This
module finds such questions and lists the items, each cited to the passage where it starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from index.datafiles import read_tsv
from index.types import Chunk

CN_DIGITS = "一二三四五六七八九十"
# Words that only say "which section" or "how many items", never what an item is about.
GENERIC = frozenset(w for _, (w, _p) in read_tsv("assistant", "data/outline_words.tsv", 2))
ORDINAL_RE = re.compile(r"第([一二三四五六七八九十])(?:条|点|项|个方面|方面)")
COUNT_RE = re.compile(r"^[哪几多少第一二三四五六七八九十两]+[条点项个]?$")


@dataclass(frozen=True)
class OutlineItem:
    heading: str
    chunk: Chunk  # the passage where the item starts


@dataclass(frozen=True)
class Outline:
    city: str
    section: str
    items: tuple[OutlineItem, ...]


def outlines(chunks: Iterable[Chunk]) -> list[Outline]:
    """Sections with their numbered items, in reading order, per article.

    >>> a = Chunk(id="a", text="一是强化企业创新主体地位。", source="s", city="太原市",
    ...           section="下一步工作举措", item="一是强化企业创新主体地位", start=10)
    >>> b = Chunk(id="b", text="深入实施…", source="s", city="太原市",
    ...           section="下一步工作举措", item="一是强化企业创新主体地位", start=40)
    >>> c = Chunk(id="c", text="二是营造一流创新生态环境。", source="s", city="太原市",
    ...           section="下一步工作举措", item="二是营造一流创新生态环境", start=90)
    >>> [(o.section, [(i.heading, i.chunk.id) for i in o.items]) for o in outlines([c, b, a])]
    [('下一步工作举措', [('一是强化企业创新主体地位', 'a'), ('二是营造一流创新生态环境', 'c')])]
    """
    groups: dict[tuple[str, int, str], dict[str, Chunk]] = {}
    for chunk in sorted(chunks, key=lambda c: (c.source, c.article_index, c.start, c.id)):
        if chunk.section and chunk.item:
            first = groups.setdefault((chunk.source, chunk.article_index, chunk.section), {})
            first.setdefault(chunk.item, chunk)
    return [
        Outline(city=next(iter(items.values())).city, section=section,
                items=tuple(OutlineItem(heading, chunk) for heading, chunk in items.items()))
        for (_, _, section), items in groups.items()
        if len(items) >= 2
    ]


def _named_sections(question: str, sections: Iterable[str], tokenize: Callable[[str], list[str]]) -> set[str]:
    """Sections the question names: all of the name, or one of its specific words (下一步, 亮点)."""
    named = set()
    for section in sections:
        words = [w for w in tokenize(section) if len(w) >= 2 and w not in GENERIC]
        if section in question or any(w in question for w in words):
            named.add(section)
    return named


def match(
    question: str,
    keywords: Iterable[str],
    places: Sequence[str],
    all_outlines: Sequence[Outline],
    tokenize: Callable[[str], list[str]],
    city: str = "",
) -> tuple[list[Outline], int | None] | None:
    """The outlines a structure question asks for, and the item it asks for (0-based) if one.

    None when the question is not purely about a section: it names no section, names a
    place no such section belongs to, or asks about something more specific (「下一步在人才
    方面有哪些举措？」 has 人才 left over, so it is answered from passages instead).  Strict on
    purpose: a question wrongly taken for a structure question loses its specific answer.
    """
    named = _named_sections(question, {o.section for o in all_outlines}, tokenize)
    if not named:
        return None
    section_words = {w for s in named for w in tokenize(s)}
    generic = [g for g in GENERIC if g in question]  # with their sub-words: 开发 of 开发区
    leftover = [
        k for k in keywords
        if k not in section_words and not any(k in g for g in generic) and not COUNT_RE.match(k)
        and not any(k in p or p[:-1] in k for p in places)
    ]
    if leftover:
        return None
    chosen = [o for o in all_outlines if o.section in named]
    if city:
        chosen = [o for o in chosen if o.city == city]
    if places:
        chosen = [o for o in chosen if any(o.city == p or o.city.startswith(p[:2]) for p in places)]
    if not chosen:
        return None
    ordinal = ORDINAL_RE.search(question)
    index = CN_DIGITS.index(ordinal.group(1)) if ordinal else None
    if index is not None:
        chosen = [o for o in chosen if index < len(o.items)]
        if not chosen:
            return None
    return chosen, index


def opening(item: OutlineItem, limit: int = 150) -> str:
    """The item's first sentence after its heading, as printed (cut at a clause when long).

    >>> c = Chunk(id="c", text="二是紧盯项目建设抓进度。一是全面落实机制，确保项目顺利建设。二是…", source="s")
    >>> opening(OutlineItem("二是紧盯项目建设抓进度", c))
    '一是全面落实机制，确保项目顺利建设'
    """
    text = item.chunk.text
    body = text[len(item.heading):] if text.startswith(item.heading) else ""
    body = body.lstrip("。；，：: ")
    sentence = re.split(r"(?<=[。！？])", body, maxsplit=1)[0].rstrip("。！？")
    if len(sentence) > limit:
        cut = max(sentence.rfind("，", 0, limit), sentence.rfind("；", 0, limit))
        sentence = sentence[:cut] if cut > 0 else ""
    return sentence


def compose(chosen: Sequence[Outline], index: int | None) -> tuple[str, list[Chunk]]:
    """Answer text with [n] markers, and the cited chunks in marker order.

    All items: their headings.  One item (「第二条」): its heading and opening sentence.

    >>> a = Chunk(id="a", text="一是甲。", source="s", city="太原市", section="下一步工作举措", item="一是甲")
    >>> b = Chunk(id="b", text="二是乙。落实乙。", source="s", city="太原市", section="下一步工作举措", item="二是乙")
    >>> o = Outline("太原市", "下一步工作举措", (OutlineItem("一是甲", a), OutlineItem("二是乙", b)))
    >>> compose([o], None)[0], compose([o], 1)[0]
    ('太原市“下一步工作举措”：一是甲[1]；二是乙[2]。', '太原市“下一步工作举措”：二是乙：落实乙[1]。')
    """
    sentences, cited = [], []
    for outline in chosen:
        items = outline.items if index is None else (outline.items[index],)
        marked = []
        for item in items:
            cited.append(item.chunk)
            detail = opening(item) if index is not None else ""
            marked.append(f"{item.heading}{'：' + detail if detail else ''}[{len(cited)}]")
        # No count in the lead: 「共三条」 is a figure no passage states; the 一是/二是… say it.
        sentences.append(f"{outline.city}“{outline.section}”：" + "；".join(marked) + "。")
    return "".join(sentences), cited
