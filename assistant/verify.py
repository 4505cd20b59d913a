"""Verify an answer against its cited passages, whatever backend wrote it.

Every figure (number + unit, read by the one figure parser ``index.figures``) in
the answer must occur in one of the passages it cites, after normalisation (spaces,
full-width digits); 5亿元 and 50000万元 are the same figure.  A figure found in
no cited passage is flagged in the text and listed; a [n] marker whose passage
lacks the figures of its sentence is moved to a cited passage that has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from index.cleaning import fold_width
from index.figures import Figure, quantities
from index.figures import supported as _supported

MARKERS = re.compile(r"((?:\[\d+\])+)")
FLAG = "〔未核实〕"
COMPUTED = "〔计算〕"  # after a figure the answer computed (a sum, a difference) rather than quoted


def normalise(text: str) -> str:
    """Fold widths and drop spaces and thousands separators inside figures.

    >>> normalise("签约投资额 ２４.０７ 亿元，1,000 台")
    '签约投资额24.07亿元，1000台'
    """
    text = fold_width(text).replace("−", "-")
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    return re.sub(r"(?<=[\d.])\s+(?=[\d.%万亿千个百A-Za-z\u4e00-\u9fff])|(?<=[\u4e00-\u9fff])\s+(?=\d)", "", text)


def figures(text: str) -> list[str]:
    """Normalised figures of ``text`` that an answer must back with a cited passage: every unit of
    ``index/data/units.tsv`` (套, 宗, 万吨, GW …), bare amounts with 亿/万, numbers of 2+ digits.

    >>> figures("签约投资额24.07 亿元，同比增长-2.6%，高于7.3个百分点，年产56GW，2024年，约999亿，800套")
    ['24.07亿元', '-2.6%', '7.3个百分点', '56GW', '999亿', '800套']
    """
    return [f.key for f in _figures(text)]


def _figures(text: str) -> list[Figure]:
    return quantities(normalise(text))


def supported(figure: str, passage: str) -> bool:
    """Whole-number match: 「7个」 is not supported by 「47个」 nor by 「7.3个」.

    >>> supported("7个", "有47个项目"), supported("47个", "有47个项目"), supported("7个", "7.3个百分点")
    (False, True, False)
    """
    return _supported(figure, normalise(passage))


@dataclass
class Verification:
    text: str
    unsupported: list[str] = field(default_factory=list)
    moved_markers: list[tuple[int, int]] = field(default_factory=list)  # (from n, to n)
    cited: list[int] = field(default_factory=list)


def verify(text: str, passages: dict[int, str]) -> Verification:
    """Check ``text`` (with [n] markers) against ``passages`` (n → passage text).

    >>> v = verify("签约投资额24.07亿元[2]。开工项目99个[1]。", {1: "开工项目10个", 2: "签约投资额24.07 亿元"})
    >>> v.unsupported, v.text
    (['99个'], '签约投资额24.07亿元[2]。开工项目99个〔未核实〕[1]。')
    """
    cited_all = [int(n) for n in re.findall(r"\[(\d+)\]", text) if int(n) in passages]
    pool = {n: passages[n] for n in dict.fromkeys(cited_all)}
    out: list[str] = []
    result = Verification(text="")
    pieces = MARKERS.split(text)
    # pieces alternate: segment, markers, segment, markers, ..., tail
    for i in range(0, len(pieces), 2):
        segment = pieces[i]
        marker_text = pieces[i + 1] if i + 1 < len(pieces) else ""
        numbers = [int(n) for n in re.findall(r"\d+", marker_text)]
        valid = [n for n in numbers if n in passages]
        segment_figs = [f for f in figures(segment) if f not in _computed(segment)]
        own = [passages[n] for n in valid]
        fixed_markers = valid
        if segment_figs and valid and not all(any(supported(f, p) for p in own) for f in segment_figs):
            better = [n for n in pool if all(supported(f, pool[n]) for f in segment_figs)]
            if better:
                result.moved_markers += [(valid[0], better[0])]
                fixed_markers = [better[0]]
        check_against = [passages[n] for n in fixed_markers] or list(pool.values())
        for fig in dict.fromkeys(segment_figs):
            if not any(supported(fig, p) for p in check_against) and not any(supported(fig, p) for p in pool.values()):
                result.unsupported.append(fig)
                segment = _flag(segment, fig)
        out.append(segment + "".join(f"[{n}]" for n in fixed_markers))
    result.text = "".join(out)
    result.text = _check_computed(result.text, result.unsupported)
    result.cited = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", result.text)))
    return result


def _computed(segment: str) -> set[str]:
    """Figures marked 〔计算〕 in a segment (checked by arithmetic, not against a passage)."""
    text = normalise(segment)
    return {f.key for f in quantities(text) if text[f.end : f.end + len(COMPUTED)] == COMPUTED}


def _check_computed(text: str, unsupported: list[str]) -> str:
    """A computed figure holds when it is the sum of the verified figures of its unit before it, or
    the difference of two of them; otherwise it is flagged like an unsupported figure.

    >>> _check_computed("开工12.12亿元[1] + 投产11.78亿元[1] = 23.9亿元〔计算〕。", [])
    '开工12.12亿元[1] + 投产11.78亿元[1] = 23.9亿元〔计算〕。'
    >>> bad = []
    >>> _check_computed("开工12.12亿元[1] + 投产11.78亿元[1] = 30亿元〔计算〕。", bad), bad
    ('开工12.12亿元[1] + 投产11.78亿元[1] = 30亿元〔未核实〕〔计算〕。', ['30亿元'])
    """
    norm = normalise(text)
    figs = quantities(norm)
    out, last = [], 0
    for i, f in enumerate(figs):
        if norm[f.end : f.end + len(COMPUTED)] != COMPUTED:
            continue
        before = [g for g in figs[:i] if g.base == f.base and g.key not in unsupported
                  and norm[g.end : g.end + len(COMPUTED)] != COMPUTED]
        values = [g.value for g in before]
        ok = len(values) >= 2 and (_close(sum(values), f.value) or any(
            _close(abs(a - b), f.value) for j, a in enumerate(values) for b in values[j + 1:]))
        if not ok:
            unsupported.append(f.key)
            out.append(norm[last : f.end] + FLAG)
            last = f.end
    return "".join(out) + norm[last:] if out else text


def _close(a: float, b: float) -> bool:
    """Equal up to the rounding of a printed figure (two decimals of its unit)."""
    return abs(a - b) <= max(abs(a), abs(b)) * 0.005 + 1e-9


def _flag(segment: str, figure: str) -> str:
    """Append the flag after the figure's first occurrence."""
    ends = [f.end for f in quantities(segment) if f.key == figure]
    if not ends:
        return segment + FLAG
    return segment[: ends[0]] + FLAG + segment[ends[0] :]
