"""Pure text repairs for bulletin text extracted from PDFs.

PDF extraction of a two-column layout breaks lines mid-sentence, splits words
across page breaks with a blank line, and puts spaces around figures
(``20 亿元``).  These functions undo that without inventing text.
"""

from __future__ import annotations

import re
import unicodedata

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Full-width punctuation that may touch CJK text directly.
CJK_PUNCT = "，。！？；：、“”‘’（）《》【】—…·"
SENTENCE_END = "。！？；"
# Closing marks that may follow a sentence end: 「……。”」
CLOSERS = "”’）》」』】)"
_CJK_RE = re.compile(f"[{CJK}]")


def is_cjk(ch: str) -> bool:
    """True for a CJK ideograph.

    >>> is_cjk("吕"), is_cjk("a"), is_cjk("，")
    (True, False, False)
    """
    return bool(ch) and bool(_CJK_RE.match(ch))


def ends_sentence(text: str) -> bool:
    """True when ``text`` ends a sentence or a heading (so a following line break is real).

    >>> ends_sentence("形成新的经济增长点。"), ends_sentence("清徐老陈醋省"), ends_sentence("实现了“土地带标”")
    (True, False, False)
    >>> ends_sentence("【工作成绩及亮点】"), ends_sentence("真正做到。”")
    (True, True)
    """
    t = text.rstrip()
    while t and t[-1] in CLOSERS and t[-1] != "】":
        t = t[:-1]
    return bool(t) and (t[-1] in SENTENCE_END or t[-1] in "】…!?" or text.rstrip().endswith("】"))


def join_lines(left: str, right: str) -> str:
    """Join two wrapped lines: no space between CJK characters, one between two Latin words.

    >>> join_lines("加快构建现开发", "区现代化产业体系")
    '加快构建现开发区现代化产业体系'
    >>> join_lines("Taiyuan High-Tech", "Zone")
    'Taiyuan High-Tech Zone'
    >>> join_lines("年产 56", "GW")
    '年产 56GW'
    """
    left, right = left.rstrip(), right.lstrip()
    if not left or not right:
        return left + right
    if left[-1].isascii() and left[-1].isalpha() and right[0].isascii() and right[0].isalpha():
        return f"{left} {right}"
    return left + right


_FIGURE_SPACE = re.compile(
    # a space between a digit/%/Latin unit and CJK (either order), or inside "- 2.6"
    rf"(?<=[0-9%{CJK}{re.escape(CJK_PUNCT)}])[ \t\u3000\xa0]+(?=[{CJK}{re.escape(CJK_PUNCT)}])"
    rf"|(?<=[%{CJK}{re.escape(CJK_PUNCT)}])[ \t\u3000\xa0]+(?=[0-9])"
    rf"|(?<=[0-9])[ \t\u3000\xa0]+(?=[A-Za-z%])"
    rf"|(?<=[A-Za-z])[ \t\u3000\xa0]+(?=[{CJK}])"
    rf"|(?<=[{CJK}])[ \t\u3000\xa0]+(?=[A-Za-z])"
    # a negative figure after CJK text: 「增长 -2.6%」, 「增长 - 2.6%」 → 「增长-2.6%」
    rf"|(?<=[{CJK}{re.escape(CJK_PUNCT)}])[ \t\u3000\xa0]+(?=[-−][ \t\u3000\xa0]*[0-9])"
    rf"|(?:(?<=[{CJK}{re.escape(CJK_PUNCT)}][-−])|(?<=[{CJK}{re.escape(CJK_PUNCT)}][ \t\u3000\xa0][-−]))[ \t\u3000\xa0]+(?=[0-9])"
)


def normalize_spacing(text: str) -> tuple[str, list[int]]:
    """Remove spaces that PDF extraction put around figures and between CJK characters.

    Returns the cleaned text and, for every cleaned character, its index in the
    input, so a cleaned span can be shown as originally printed.

    >>> normalize_spacing("用足用好 20 亿元科技创新")[0]
    '用足用好20亿元科技创新'
    >>> normalize_spacing("年产 56GW 垂直一体化")[0]
    '年产56GW垂直一体化'
    >>> normalize_spacing("Hello World 中国")[0]
    'Hello World中国'
    >>> normalize_spacing("2023-07-12 19:59，正文")[0]  # two numbers stay two numbers
    '2023-07-12 19:59，正文'
    """
    keep: list[int] = []
    pos = 0
    for m in _FIGURE_SPACE.finditer(text):
        keep.extend(range(pos, m.start()))
        pos = m.end()
    keep.extend(range(pos, len(text)))
    return "".join(text[i] for i in keep), keep


def fold_width(text: str) -> str:
    """Fold full-width digits, Latin letters and ``％`` to ASCII (NFKC), keeping CJK punctuation.

    >>> fold_width("２４．０７亿元，增长５％")
    '24.07亿元，增长5%'
    """
    out = []
    for ch in text:
        if "\uff01" <= ch <= "\uff5e" and ch not in "，。！？；：（）":
            out.append(unicodedata.normalize("NFKC", ch))
        else:
            out.append(ch)
    return "".join(out)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split Chinese text into sentence spans on 。！？； (keeping closing quotes with the sentence).

    Never splits inside a figure: ASCII ``.`` is not a sentence end.

    >>> t = "签约投资额24.07亿元；开工项目10个。“一是”好！"
    >>> [t[a:b] for a, b in split_sentences(t)]
    ['签约投资额24.07亿元；', '开工项目10个。', '“一是”好！']
    """
    spans: list[tuple[int, int]] = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        if text[i] in SENTENCE_END:
            j = i + 1
            while j < n and text[j] in CLOSERS:
                j += 1
            if text[start:j].strip():
                spans.append((start, j))
            start = j
            i = j
            continue
        i += 1
    if start < n and text[start:].strip():
        spans.append((start, n))
    return spans
