"""Turn a bulletin's raw text into articles, sections, items and clean paragraphs.

A bulletin issue (简报/特刊) holds several city articles.  Each article has a
lead paragraph, sections headed 【工作成绩及亮点】/【下一步工作举措】, and numbered
items (一是…/二是…) that may run over several paragraphs.  Every paragraph keeps
its section, item and character offsets into the cleaned article text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from statistics import median

from index.cleaning import ends_sentence, fold_width, join_lines, normalize_spacing
from index.dates import header_line, issue_label, latest_month, main_year, strip_news_header
from index.gazetteer import gazetteer

CHINESE_ORDINALS = "一二三四五六七八九十"
ITEM_RE = re.compile(
    rf"^(?:[{CHINESE_ORDINALS}]{{1,3}}是|[（(][{CHINESE_ORDINALS}]{{1,3}}[)）]|[{CHINESE_ORDINALS}]{{1,3}}、)"
)
SECTION_RE = re.compile(r"^\s*【([^】]{1,30})】\s*$")
MD_HEADING_RE = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
SOURCE_UNIT_RE = re.compile(r"[\s　]*(?:供稿单位|供稿|来源|撰稿)[:：]\s*([^\s，。；]{2,40})\s*$")
# A running title printed on every page: “……”特刊 / ……工作简报 第12期.
RUNNING_TITLE_RE = re.compile(
    r"^\s*(?:[“\"].{2,40}[”\"]\s*(?:特刊|专刊|增刊)|.{0,30}(?:简报|专刊|特刊)\s*(?:第\s*\d+\s*期|[（(]\s*\d+\s*[)）])?)\s*$"
)


@dataclass
class Paragraph:
    """One paragraph of an article; ``text`` is cleaned, ``original`` as printed (lines joined)."""

    text: str
    original: str
    offset_map: list[int]  # cleaned index → index in ``original``
    section: str = ""
    item: str = ""
    start: int = 0  # offsets into Article.text
    end: int = 0
    is_heading: bool = False
    indented: bool = False

    def original_span(self, start: int, end: int) -> str:
        """The printed text behind cleaned ``text[start:end]``."""
        if start >= end:
            return ""
        return self.original[self.offset_map[start] : self.offset_map[end - 1] + 1]


@dataclass
class Article:
    index: int
    paragraphs: list[Paragraph] = field(default_factory=list)
    title: str = ""
    city: str = ""
    source_unit: str = ""

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.paragraphs)

    @property
    def lead(self) -> str:
        for p in self.paragraphs:
            if not p.is_heading:
                return p.text
        return ""


@dataclass
class Bulletin:
    source: str
    articles: list[Article]
    issue_title: str = ""
    warnings: list[str] = field(default_factory=list)
    date: str = ""  # ISO date of the issue (index.dates), "" when unknown
    date_source: str = ""  # manifest | header | text | mtime
    issue: str = ""  # 期号 as printed: 2024年第5期


# ---------------------------------------------------------------------------
# places


CITY_LEAD_CHARS = 12  # an article is a city's when it names the city (or one of its counties) this early


def find_city(text: str) -> str:
    """The city an article's title or lead speaks for: the first gazetteer place within its first
    characters, as its prefecture-level city (太原高新区 → 太原市).  News that names places only
    later (「中新网7月28日电 …」) speaks for no city.

    >>> find_city("今年以来，吕梁市深入贯彻落实"), find_city("太原高新区按照部署"), find_city("全市开发区")
    ('吕梁市', '太原市', '')
    >>> find_city("吉林省开发区"), find_city("眉县经开区"), find_city("2023-07-12 19:59，正文：1、中国上市公司500强发布，44家浙企")
    ('', '宝鸡市', '')
    """
    g = gazetteer()
    for m in g.find(text[: CITY_LEAD_CHARS + 8]):
        if m.start >= CITY_LEAD_CHARS:
            break
        city = g.city_of(m.codes[0])
        if city and all(g.city_of(c) == city for c in m.codes):  # 朝阳区 of 北京 or of 长春: no guess
            return g.place(city).name
        if g.place(m.codes[0]).level == "province":
            return ""
    return ""


# ---------------------------------------------------------------------------
# lines → paragraphs


def _is_wrapped(lines: list[str]) -> bool:
    """True for PDF-style text where most lines stop mid-sentence."""
    content = [ln for ln in lines if ln.strip() and not SECTION_RE.match(ln)]
    if len(content) < 4:
        return False
    open_ended = sum(1 for ln in content if not ends_sentence(ln))
    return open_ended / len(content) > 0.5


def split_paragraphs(raw: str) -> tuple[list[tuple[str, bool, int]], list[str]]:
    """Split raw text into (joined paragraph text, indented?, heading level) and running titles.

    Heading level is 0 for body text, -1 for a 【section】 line, 1–6 for a markdown heading.
    Page breaks inside a sentence are rejoined: a blank line after a full-width line
    that does not end a sentence is a page break, not a paragraph end.

    >>> raw = "一是支持各县开发区发挥\\n自身比较优势，清徐老陈醋省\\n\\n级专业镇加快项目建设，做\\n强龙头企业。\\n\\n【下一步】\\n“某某”特刊"
    >>> paras, titles = split_paragraphs(raw)
    >>> [p[0] for p in paras], titles
    (['一是支持各县开发区发挥自身比较优势，清徐老陈醋省级专业镇加快项目建设，做强龙头企业。', '【下一步】'], ['“某某”特刊'])
    """
    lines = [ln.rstrip() for ln in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    titles = [ln.strip() for ln in lines if ln.strip() and RUNNING_TITLE_RE.match(ln) and not ends_sentence(ln)]
    lines = [ln for ln in lines if not (ln.strip() and ln.strip() in titles)]
    wrapped = _is_wrapped(lines)
    lengths = [len(ln.strip()) for ln in lines if ln.strip()]
    full_width = median(lengths) * 0.8 if lengths else 0

    paragraphs: list[tuple[str, bool, int]] = []
    buf: str | None = None
    buf_indented = False
    last_line = ""
    blank_before = False

    def flush() -> None:
        nonlocal buf
        if buf is not None and buf.strip():
            paragraphs.append((buf.strip(), buf_indented, 0))
        buf = None

    for line in lines:
        stripped = line.strip()
        if not stripped:
            blank_before = True
            continue
        heading = SECTION_RE.match(stripped)
        md = MD_HEADING_RE.match(stripped)
        if heading or md:
            flush()
            paragraphs.append((stripped if heading else md.group(2), False, -1 if heading else len(md.group(1))))
            blank_before = False
            last_line = stripped
            continue
        indented = line[:1].isspace()
        if buf is None:
            new_paragraph = True
        elif not wrapped:
            # One paragraph per line: a short line that stops mid-sentence (a title such as
            # 「晋中市开发区工作情况」, 「二是优化营商环境：」) is still a line of its own.
            new_paragraph = blank_before or ends_sentence(last_line) or len(last_line.strip()) < full_width
        elif blank_before:
            # A blank line after a full line that stops mid-sentence is a page break.
            new_paragraph = ends_sentence(last_line) or len(last_line.strip()) < full_width
        else:
            new_paragraph = indented and ends_sentence(last_line)
        if new_paragraph:
            flush()
            buf, buf_indented = stripped, indented
        else:
            buf = join_lines(buf, stripped)
        last_line = stripped
        blank_before = False
    flush()
    # A running title written as a markdown heading (docx Title, html <h1>) names the issue without its "#".
    return paragraphs, [md.group(2) if (md := MD_HEADING_RE.match(t)) else t for t in titles]


# ---------------------------------------------------------------------------
# paragraphs → articles


def _item_title(text: str) -> str:
    """The heading sentence of an item paragraph: 「一是…。」 without the full stop, capped."""
    end = len(text)
    for mark in "。；":
        pos = text.find(mark)
        if pos != -1:
            end = min(end, pos)
    title = text[:end]
    return title if len(title) <= 40 else title[:39] + "…"


def _derive_title(lead: str) -> str:
    """A title from the lead when the bulletin prints none: its first clause(s), ≤ 32 chars."""
    first = re.split(r"[。！？；]", lead, maxsplit=1)[0]
    return first if len(first) <= 32 else first[:31] + "…"


def parse_bulletin(raw: str, source: str) -> Bulletin:
    """Parse one bulletin issue into articles with section/item-tagged paragraphs."""
    raw = raw.lstrip("\ufeff")
    raw, date = strip_news_header(raw)
    raw, line_date, issue = _strip_header_lines(raw)
    date_source = "header" if date or line_date else ""
    date = date or line_date
    paragraphs, titles = split_paragraphs(raw)
    warnings: list[str] = []
    articles: list[Article] = []
    current = Article(index=0)
    seen_sections: set[str] = set()
    closed = False

    def start_article(first: list[Paragraph] | None = None) -> None:
        nonlocal current, seen_sections, closed
        if any(not p.is_heading for p in current.paragraphs):
            articles.append(current)
        current = Article(index=len(articles), paragraphs=list(first or []))
        seen_sections = set()
        closed = False

    for text, indented, level in paragraphs:
        if level > 0:  # markdown heading: a new article with a printed title
            if level <= 2:
                start_article()
                current.title = text
                continue
            text, level = f"【{text}】", -1
        original = text
        folded = fold_width(text)
        unit = SOURCE_UNIT_RE.search(folded)
        if unit and level == 0:
            current.source_unit = unit.group(1)
            folded = folded[: unit.start()]
            original = original[: unit.start()]
        cleaned, offset_map = normalize_spacing(folded)
        para = Paragraph(cleaned, original, offset_map, is_heading=level == -1, indented=indented)
        if para.is_heading:
            name = SECTION_RE.match(text).group(1) if SECTION_RE.match(text) else text
            if name in seen_sections or closed:
                # A section heading seen again means a new article began; its lead is
                # the body paragraph just before the heading.
                lead = [] if closed else [current.paragraphs.pop()] if current.paragraphs and not current.paragraphs[-1].is_heading else []
                start_article(lead)
            seen_sections.add(name)
        elif closed:
            start_article()
        if cleaned:
            current.paragraphs.append(para)
        if unit and level == 0:
            closed = True
    start_article()

    for article in articles:
        _annotate(article)
    if not articles:
        warnings.append("no body text found")
    issue_title = titles[0] if titles else ""
    issue = issue or issue_label(issue_title)
    if not date:
        body = "\n".join(a.text for a in articles)
        date = latest_month(body) or main_year(body)
        date_source = "text" if date else ""
    return Bulletin(source=source, articles=articles, issue_title=issue_title, warnings=warnings, date=date,
                    date_source=date_source, issue=issue)


def _strip_header_lines(raw: str) -> tuple[str, str, str]:
    """Drop the date and issue-label lines printed before the body: (rest, ISO date, issue label)."""
    lines = raw.split("\n")
    date = issue = ""
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        found = header_line(line)
        if found is None:
            seen += 1
            if seen > 3:  # only the masthead: a date deep in the body is text, not a header
                break
            continue
        date, issue = date or found[0], issue or found[1]
        lines[i] = ""
    return "\n".join(lines), date, issue


def _annotate(article: Article) -> None:
    """Fill section/item/offsets of every paragraph, and the article's city and title."""
    section = item = ""
    offset = 0
    for p in article.paragraphs:
        if p.is_heading:
            m = SECTION_RE.match(p.text)
            section, item = (m.group(1) if m else p.text), ""
        elif section and ITEM_RE.match(p.text):
            item = _item_title(p.text)
        p.section, p.item = section, item
        p.start, p.end = offset, offset + len(p.text)
        offset = p.end + 1  # the "\n" joining paragraphs in Article.text
    article.city = article.city or find_city(article.title) or find_city(article.lead)
    article.title = article.title or _derive_title(article.lead)
