"""China's administrative divisions as a gazetteer: find the places a text names.

The data file ``index/data/gazetteer.tsv`` lists every province, prefecture-level city and
county-level unit (3,000+ of them) with its short name, generated from jionlp's
``china_location.txt`` by ``python -m index.gazetteer --regenerate`` (see its header).  A short
name that is also a common word of another kind in jieba's dictionary (合作, 公安, 和平) counts
only with its suffix (合作市), and a unit named by a common word (城区, 郊区) is not matched, so
ordinary words are not read as places.

Matching is longest-first from left to right over a dictionary of surfaces, so 「浙江门户」 is
浙江, not 江门, and 「宝鸡市眉县」 is 宝鸡市 then 眉县.

>>> g = gazetteer()
>>> [(m.surface, g.full_name(m.codes[0])) for m in g.find("宝鸡市眉县和萧山经济技术开发区")]
[('宝鸡市', '陕西省宝鸡市'), ('眉县', '陕西省宝鸡市眉县'), ('萧山', '浙江省杭州市萧山区')]
"""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

from index.datafiles import read_tsv

DATA_FILE = "data/gazetteer.tsv"
LEVELS = ("province", "city", "county")
PLACE_WORDS_FILE = "data/place_words.tsv"
# A short name that jieba's dictionary knows at least this often as a word that is not a place
# (POS other than ns) reads as that word unless written with its suffix.
COMMON_WORD_FREQ = 500


@lru_cache(maxsize=8)
def place_words(section: str) -> tuple[str, ...]:
    """One section of ``index/data/place_words.tsv``, in file order: ``level`` (省 市 县 区),
    ``zone_suffix`` (经济技术开发区 …, longer before the shorter ones they end with) or
    ``generic_alias`` (short forms jionlp lists that are not names).

    >>> place_words("level")
    ('省', '市', '县', '区')
    >>> place_words("zone_suffix").index("经济技术开发区") < place_words("zone_suffix").index("开发区")
    True
    """
    return tuple(w for sec, (w, _p) in read_tsv("index", PLACE_WORDS_FILE, 2) if sec == section)


@dataclass(frozen=True)
class Place:
    code: str  # administrative division code (6 digits)
    level: str  # province | city | county
    name: str  # official name: 陕西省, 宝鸡市, 眉县
    short: str  # short name: 陕西, 宝鸡, 眉县
    parent: str  # code of the enclosing unit ("" for a province)
    match: str  # which names find it in running text: "short" (short or full), "full" (full only), "none"


@dataclass(frozen=True)
class Mention:
    surface: str
    start: int
    end: int
    codes: tuple[str, ...]  # every place this surface may mean (朝阳: a city in 辽宁, districts elsewhere)


class Gazetteer:
    def __init__(self, places: Iterable[Place]) -> None:
        self.places = {p.code: p for p in places}
        surfaces: dict[str, list[str]] = {}
        for p in self.places.values():
            names = {"short": {p.name, p.short}, "full": {p.name}}.get(p.match, set())
            for name in names:
                if len(name) >= 2:
                    surfaces.setdefault(name, []).append(p.code)
        # A full name wins over a short name of the same spelling (吉林 the province, not 吉林市).
        self._surfaces = {s: tuple(sorted(codes, key=lambda c: (self.places[c].name != s, LEVELS.index(self.places[c].level))))
                          for s, codes in surfaces.items()}
        self._max_len = max(map(len, self._surfaces), default=0)

    def place(self, code: str) -> Place:
        return self.places[code]

    def find(self, text: str) -> list[Mention]:
        """Place names in ``text``, longest match first, left to right.

        A county's short name must also be a word of the sentence (jieba's cut of the text
        around it), so 「重大安全」 does not name 大安 nor 「云安全」 云安.  No place starts inside a
        name (「孙中山」 names no 中山, 「托木斯克州」 no 克州).

        >>> [m.surface for m in gazetteer().find("重大安全风险，云安全赛道，吉林大安市，吕梁和太原")]
        ['吉林', '大安市', '吕梁', '太原']
        >>> [m.surface for m in gazetteer().find("孙中山的故乡在中山市翠亨村；托木斯克州与天津人")]
        ['中山市', '天津']
        """
        out: list[Mention] = []
        i, n = 0, len(text)
        while i < n:
            for length in range(min(self._max_len, n - i), 1, -1):
                codes = self._surfaces.get(text[i : i + length])
                if codes and (not self._needs_boundary(text[i : i + length], codes) or _is_word(text, i, i + length)):
                    if NAME_GUARD and _inside_name(text, i):
                        i += 1  # no place of any length starts inside a name: one jieba cut per position
                        break
                    out.append(Mention(text[i : i + length], i, i + length, codes))
                    i += length
                    break
            else:
                i += 1
        return out

    def _needs_boundary(self, surface: str, codes: tuple[str, ...]) -> bool:
        """Only a county's short name (no 县/区/市 suffix of its own) can sit inside another word."""
        return all(self.places[c].level == "county" and self.places[c].name != surface for c in codes)

    def ancestors(self, code: str) -> tuple[str, ...]:
        """The code and every enclosing unit's code, innermost first."""
        chain = []
        while code and code in self.places and code not in chain:
            chain.append(code)
            code = self.places[code].parent
        return tuple(chain)

    def full_name(self, code: str) -> str:
        """陕西省宝鸡市眉县: the names of the enclosing units, outermost first."""
        return "".join(self.places[c].name for c in reversed(self.ancestors(code)))

    def city_of(self, code: str) -> str:
        """The prefecture-level city (or municipality) a place lies in, as a code ("" for a province)."""
        for c in self.ancestors(code):
            if self.places[c].level == "city":
                return c
        return ""

    def codes_in(self, text: str) -> frozenset[str]:
        """Codes of every place named in ``text`` and of the units enclosing them."""
        return frozenset(c for m in self.find(text) for code in m.codes for c in self.ancestors(code))

    @cached_property
    def names(self) -> frozenset[str]:
        """Every surface the gazetteer recognises (for a tokeniser's dictionary)."""
        return frozenset(self._surfaces)

    def full_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.places.values())


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    return Gazetteer(
        Place(code, level, name, short, "" if parent == "-" else parent, match)
        for _, (code, level, name, short, parent, match) in read_tsv("index", DATA_FILE, 6)
    )


# --- regeneration (a developer step; needs jionlp and jieba) ------------------------------------


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


# A place does not start inside a person's or a transliterated name.  Read at build time (article
# cities, figure entities) and by query analysis; measured in benchmarks/RESULTS.md (name guard).
NAME_GUARD = True


def _inside_name(text: str, start: int) -> bool:
    """Does ``start`` fall inside (not at the start of) a word that jieba's dictionary tags as a
    person's or a transliterated foreign name (nr, nrfg, nrt: 孙中山, 托木斯克)?  A demonym such as
    天津人 (also nr) starts with its place and keeps it."""
    a = max(0, start - 6)
    pos = a
    for word in _jieba().cut(text[a : start + 6], HMM=False):
        if pos < start < pos + len(word):
            return word in _name_words()
        if pos >= start:
            return False
        pos += len(word)
    return False


@lru_cache(maxsize=1)
def _name_words() -> frozenset[str]:
    """The words jieba's dictionary tags as names of people or transliterated names (nr*)."""
    return frozenset(w for w, (_freq, tag) in _common_words().items() if tag.startswith("nr"))


def _is_word(text: str, start: int, end: int) -> bool:
    """Does jieba's cut of the text around [start, end) put word boundaries at both ends?"""
    a, b = max(0, start - 6), min(len(text), end + 6)
    pos, bounds = a, {a}
    for word in _jieba().cut(text[a:b], HMM=False):
        pos += len(word)
        bounds.add(pos)
    return start in bounds and end in bounds


def _common_words() -> dict[str, tuple[int, str]]:
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    words = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3:
            words[parts[0]] = (int(parts[1]), parts[2])
    return words


def regenerate(out: Path) -> int:
    """Write the gazetteer from jionlp's location dictionary; returns the number of places."""
    with contextlib.redirect_stdout(io.StringIO()):  # jionlp prints a banner on import
        import jionlp

    data = jionlp.china_location_loader()
    common = _common_words()

    def shorts(node: dict, name: str) -> list[str]:
        alias = node.get("_alias") or []
        alias = [alias] if isinstance(alias, str) else list(alias)
        return [a for a in alias if a and a != name and a not in place_words("generic_alias") and len(a) >= 2] or [name]

    def is_common(word: str) -> bool:
        freq, pos = common.get(word, (0, "ns"))
        return freq >= COMMON_WORD_FREQ and pos != "ns"

    def match(short: str, name: str, level: str, code: str) -> str:
        if is_common(name):
            return "none"  # 城区, 郊区, 矿区: a unit named by a common word is not recognised at all
        if short == name or level in ("province", "city"):
            return "short"  # provinces and cities are named bare far more often than the word clashes
        if code[4] == "7":
            return "full"  # codes xxxx7x are zones (GB/T 2260): their short forms are generic (产业园, 汽开区)
        return "full" if is_common(short) else "short"

    rows: list[tuple[str, str, str, str, str, str]] = []
    for province, pnode in sorted(data.items()):
        if province.startswith("_"):
            continue
        pcode = pnode["_admin_code"]
        pshort = shorts(pnode, province)[0]
        municipality = province in pnode  # 北京市 holds 北京市: one city-level row, no province above it
        if not municipality:
            rows.append((pcode, "province", province, pshort, "-", "short"))
        for city, cnode in sorted(pnode.items()):
            if city.startswith("_"):
                continue
            direct = city.endswith("直辖行政区划")  # 省直辖行政区划: no city, counties belong to the province
            ccode = cnode["_admin_code"]
            if municipality:
                rows.append((ccode, "city", city, pshort, "-", "short"))
            elif not direct:
                rows.append((ccode, "city", city, shorts(cnode, city)[0], pcode, "short"))
            parent = pcode if direct else ccode
            for county, node in sorted(cnode.items()):
                if county.startswith("_") or county.endswith("直辖行政区划"):
                    continue
                short = shorts(node, county)[0]
                rows.append((node["_admin_code"], "county", county, short, parent, match(short, county, "county", node["_admin_code"])))
    header = (
        "# China's administrative divisions: provinces, prefecture-level cities, county-level units.\n"
        "# Source: jionlp 1.5.31, jionlp/dictionary/china_location.txt (Apache-2.0; the national\n"
        "# administrative division codes). Generated by `python -m index.gazetteer --regenerate`: do not edit.\n"
        f"# match: which names find the place in running text. 'full': the short name is a common word in jieba's\n"
        f"# dictionary (frequency >= {COMMON_WORD_FREQ}, part of speech not ns), so only the full name counts (合作市,\n"
        "# not 合作), or the unit is a zone (code xxxx7x in GB/T 2260) whose short form is generic (产业园);\n"
        "# 'none': the full name itself is such a word (城区, 郊区); 'short': either name.\n"
        "# A municipality (北京市) is one city-level row with no province above it.\n"
        "# code\tlevel\tname\tshort\tparent\tmatch\n"
    )
    out.write_text(header + "".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m index.gazetteer", description="Look up or regenerate the gazetteer.")
    p.add_argument("--regenerate", action="store_true", help=f"rewrite index/{DATA_FILE} from jionlp's dictionary")
    p.add_argument("text", nargs="*", help="text to find places in")
    args = p.parse_args(argv)
    if args.regenerate:
        out = Path(__file__).parent / DATA_FILE
        print(f"{regenerate(out)} places written to {out}")
        return 0
    g = gazetteer()
    for m in g.find(" ".join(args.text)):
        print(m.surface, " | ".join(g.place(c).name for c in m.codes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
