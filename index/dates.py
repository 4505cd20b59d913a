"""When a document is: its date and, when printed, its issue label (期号).

In order of trust: the manifest; a dated header (「2023-08-16 18:24:57，正文：」 of a news feed, a
header line such as 「2024年5月20日」 or 「2024年第5期」 before the body); the latest full month the
text states, else the year it states most often; the file's modification time.  The chosen source is recorded with the date, so a
citation can say how sure it is.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from index.cleaning import fold_width

# 「2023-07-12 19:59，正文：」「http://… 2023年07月29日 14:10 来源：中新网广东，正文：」: a news feed's
# header (site, time, source) before the body, which starts after 「正文：」.
NEWS_HEADER_RE = re.compile(r"^(?P<head>[^。！？\n]{0,160}?)正文\s*[:：]\s*")
HEADER_DATE_RE = re.compile(r"(?P<y>(?:19|20)\d{2})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})")
# A header line of its own: 「2024年5月20日」, 「（2024年5月20日）」, 「2024年第5期」, 「第5期」.
HEADER_LINE_RE = re.compile(
    r"^[\s（(]*(?:(?P<y>(?:19|20)\d{2})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日|(?P<iy>(?:19|20)\d{2})\s*年\s*第\s*(?P<n>\d{1,3})\s*期"
    r"|第\s*(?P<n2>\d{1,3})\s*期)[\s）)]*$"
)
ISSUE_RE = re.compile(r"(?:(?P<y>(?:19|20)\d{2})\s*年\s*)?第\s*(?P<n>\d{1,3})\s*期")
YEAR_MONTH_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月")
SOURCES = ("manifest", "header", "text", "mtime", "")


@dataclass(frozen=True)
class DocDate:
    date: str = ""  # ISO: 2024-05-20 (a month-only date is the month's first day)
    source: str = ""  # manifest | header | text | mtime | "" (unknown)
    issue: str = ""  # 期号 as printed: 2024年第5期

    @property
    def year(self) -> int | None:
        return int(self.date[:4]) if self.date else None


def _iso(y: str | int, m: str | int, d: str | int = 1) -> str:
    try:
        return dt.date(int(y), int(m), int(d)).isoformat()
    except ValueError:
        return ""


def strip_news_header(raw: str) -> tuple[str, str]:
    """(the text without a news-feed timestamp header, that header's ISO date or "").

    >>> strip_news_header("2023-07-12 19:59，正文：1、中国上市公司500强发布")
    ('1、中国上市公司500强发布', '2023-07-12')
    >>> strip_news_header("http://www.gd.chinanews.com    2023年07月29日 14:10    来源：中新网广东，正文：中新网广东新闻")
    ('中新网广东新闻', '2023-07-29')
    >>> strip_news_header("太原市按照省委部署"), strip_news_header("，正文：中新社广州8月10日电")
    (('太原市按照省委部署', ''), ('中新社广州8月10日电', ''))
    """
    m = NEWS_HEADER_RE.match(fold_width(raw[:200]))
    if not m:
        return raw, ""
    d = HEADER_DATE_RE.search(m.group("head"))
    return raw[m.end() :], _iso(d.group("y"), d.group("m"), d.group("d")) if d else ""


def header_line(line: str) -> tuple[str, str] | None:
    """(ISO date or "", issue label or "") of a line that is only a date or an issue label.

    >>> header_line("2024年5月20日"), header_line("（2024年第5期）"), header_line("第12期"), header_line("一季度增长")
    (('2024-05-20', ''), ('', '2024年第5期'), ('', '第12期'), None)
    """
    m = HEADER_LINE_RE.match(fold_width(line.strip()))
    if not m:
        return None
    if m.group("y"):
        return _iso(m.group("y"), m.group("m"), m.group("d")), ""
    if m.group("iy"):
        return "", f"{m.group('iy')}年第{m.group('n')}期"
    return "", f"第{m.group('n2')}期"


def issue_label(text: str) -> str:
    """An issue label printed in a title: 「开发区工作简报 2024年第5期」 → 2024年第5期.

    >>> issue_label("开发区工作简报（2024年第5期）"), issue_label("无期号")
    ('2024年第5期', '')
    """
    m = ISSUE_RE.search(fold_width(text))
    if not m:
        return ""
    return f"{m.group('y')}年第{m.group('n')}期" if m.group("y") else f"第{m.group('n')}期"


def latest_month(text: str) -> str:
    """The latest year and month the text states (2024年3月 → 2024-03-01), or "".

    >>> latest_month("2023年12月签约，2024年3月开工"), latest_month("一季度")
    ('2024-03-01', '')
    """
    best = ""
    for y, m in YEAR_MONTH_RE.findall(fold_width(text)):
        iso = _iso(y, m)
        best = max(best, iso)
    return best


def main_year(text: str) -> str:
    """The year a text states most often (ties: the latest), as its first day, or "".

    >>> main_year("2024年，吕梁市开展活动；2022年以来的项目；2024年开工"), main_year("今年一季度")
    ('2024-01-01', '')
    """
    counts: dict[str, int] = {}
    for y in re.findall(r"(?<!\d)((?:19|20)\d{2})\s*年", fold_width(text)):
        counts[y] = counts.get(y, 0) + 1
    if not counts:
        return ""
    year = max(counts, key=lambda y: (counts[y], y))
    return f"{year}-01-01"


def mtime_date(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp).date().isoformat()
