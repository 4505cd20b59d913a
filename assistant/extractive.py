"""The embedded default answerer: candidates → features → selector → a quoted answer.

Every clause of the top passages is a candidate; the general features of
``assistant.features`` describe it; the learned selector scores it; the few hard
constraints of ``assistant.constraints`` rule some out, each with its reason.  The answer
quotes the best clause exactly (figures as printed), or several for two-part, list and how
questions.  When the answerability of the best clause is below ``refuse_below`` (calibrated on
the dev sets) the answer is a refusal that still shows the nearest passages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from assistant import constraints, lists
from assistant.candidates import Candidate, Passage, candidates
from assistant.features import (
    FEATURES,
    FeatureContext,
    _unit_matches,
    answer_support,
    asked_head,
    compute,
    keywords,
    metric_words,
    names_in,
    own_text,
    stated_times,
)
from assistant.query import QueryAnalysis
from assistant.retrieval import Retrieved
from assistant.selector import Selector
from index.annotate import article_key
from index.clauses import sentences
from index.figures import Figure, bound, find_figures, refines
from index.store import BulletinIndex

MAX_SENTENCE_CHARS = 120  # a longer sentence is quoted as the clauses around the chosen one
MAX_PART_CHARS = 100
MAX_LIST_CHARS = 240  # a list question's answer may run over a 「；」-separated enumeration
NEAR_BEST = 1.0  # a further clause joins the answer when it scores within this of the best
# A list question whose quote enumerates nothing of the asked kind also quotes the best sentence of
# the same article that does (``assistant.lists``; ablation: no-list-enumeration), if it scores
# within ENUMERATION_GAP of the best on the ranker's log-odds-like scale (e³ ≈ 20× less likely).
LIST_ENUMERATION = True
ENUMERATION_GAP = 3.0
# A passage ruled out by a passage-level constraint gives its place to the next retrieved one that
# meets them (ablation: no-fill-depth).
FILL_DEPTH = True
_COL = {name: i for i, name in enumerate(FEATURES)}


# Marks that close a sentence: a quote the source closes with one keeps it, and its [n] follows it.
SENTENCE_CLOSE = "。！？!?"


@dataclass(frozen=True)
class Part:
    text: str
    hit: int  # index into the hits the draft was made from; -1: a note citing nothing
    end: str = ""  # the mark closing the quote in its source when it ends a sentence there (「。」)

    def render(self, marker: str, last: bool) -> str:
        """The part in an answer: a quote of a whole sentence keeps its closing mark, with the
        citation after it (as Chinese Wikipedia places its notes); a clause gets 「；」 or, last, 「。」
        after its citation.

        >>> Part("签约投资额24.07亿元", 0, "。").render("[1]", last=False), Part("开工项目10个", 0).render("[2]", last=True)
        ('签约投资额24.07亿元。[1]', '开工项目10个[2]。')
        """
        if self.end:
            return f"{self.text}{self.end}{marker}"
        return f"{self.text}{marker}{'。' if last else '；'}"


@dataclass
class Draft:
    parts: list[Part] = field(default_factory=list)
    refused: bool = False
    reason: str = ""
    confidence: float = 0.0

    def render(self, number: Callable[[int], int]) -> str:
        """Text with [n] markers; ``number`` maps a hit index to its citation number.

        >>> Draft([Part("甲", 0, "。"), Part("乙", 1)]).render(lambda hit: hit + 1)
        '甲。[1]乙[2]。'
        """
        last = len(self.parts) - 1
        return "".join(p.render(f"[{number(p.hit)}]" if p.hit >= 0 else "", k == last) for k, p in enumerate(self.parts))


@dataclass
class Evidence:
    """Scored candidates of one question (what the selector saw, for answers and for training)."""

    candidates: list[Candidate]
    passages: list[Passage]
    features: np.ndarray
    scores: np.ndarray  # the ranker's scores (plus cross-document support), higher is better
    reasons: list[str]  # "" where every constraint holds
    keywords: dict[str, float] = field(default_factory=dict)  # the question's words with IDF weights
    ruled_out: list[str] = field(default_factory=list)  # why passages were no evidence (passage-level constraints)

    def text(self, i: int) -> str:
        c = self.candidates[i]
        return self.passages[c.hit].hit.chunk.text[c.start : c.end]

    def sentence(self, i: int) -> str:
        c = self.candidates[i]
        return self.passages[c.hit].hit.chunk.text[c.sent_start : c.sent_end]

    def ranked(self) -> list[int]:
        """Candidates meeting every constraint, best first."""
        ok = [i for i, r in enumerate(self.reasons) if not r]
        return sorted(ok, key=lambda i: (-float(self.scores[i]), i))


@dataclass
class Gathered:
    candidates: list[Candidate]
    passages: list[Passage]  # the passages that meet every passage-level constraint
    features: np.ndarray
    keywords: dict[str, float]
    ruled_out: list[str]  # why each other passage is no evidence, best first
    query_vector: np.ndarray | None = None  # what the features compared the clauses with


def gather(index: BulletinIndex, analysis: QueryAnalysis, retrieved: Retrieved, depth: int,
           passage_rules: Sequence = ()) -> Gathered:
    """Candidates of the top ``depth`` passages and their features (what the selector scores and
    learns from).  A passage that breaks a passage-level constraint (another city, an injected
    instruction) is no evidence: its clauses are neither candidates nor the yardstick the others
    are compared with, and the next retrieved passage that meets them takes its place
    (``FILL_DEPTH``), so a question naming 「9个重点产业项目」 still reads ``depth`` passages that
    can answer it."""
    hits = list(retrieved.hits if FILL_DEPTH else retrieved.hits[:depth])
    annotations: dict = {}
    kept, ruled_out, read = [], [], 0
    # Passages are read only as far as needed: the top ``depth`` first, then one more per passage ruled out.
    while len(kept) < depth and read < len(hits):
        batch = hits[read : read + depth - len(kept)]
        annotations.update(index.annotations([h.chunk.id for h in batch]))
        for i, p in enumerate(candidates(batch, annotations)[1], start=read):
            why = next((r for rule in passage_rules if (r := rule.passage(p))), "")
            if why:
                ruled_out.append(why)
            else:
                kept.append(i)
        read += len(batch)
    cands, passages = candidates([hits[i] for i in kept], annotations, positions=kept)
    vector = retrieved.query_vector
    if analysis.extra.get("context"):
        # A follow-up is judged like the question it stands for on its own words: the selector
        # learned from standalone questions, and 「那开工了多少个？」 is about 开工, not the earlier 签约.
        # The carried context found the passages and still constrains them (places, terms).
        analysis = replace(analysis, search_text=own_text(analysis), extra={})
        vector = index.embedder.embed_query(analysis.search_text) if vector is not None else None
    kw = keywords(analysis, index.lexicon, index.df, len(index.chunks))
    X = compute(FeatureContext(analysis, kw, vector, metric_words(analysis, index.lexicon)), cands, passages)
    return Gathered(cands, passages, X, kw, ruled_out, vector)


def name_city_once(parts: list[Part]) -> list[Part]:
    """Drop a repeated 「吕梁市：」 lead from later parts: once per answer reads better.

    >>> [p.text for p in name_city_once([Part("吕梁市：甲", 0), Part("吕梁市：乙", 1), Part("太原市：丙", 2)])]
    ['吕梁市：甲', '乙', '太原市：丙']
    """
    out: list[Part] = []
    for part in parts:
        lead = part.text.split("：", 1)[0] + "：" if "：" in part.text[:6] else ""
        if lead and any(p.text.startswith(lead) for p in out):
            part = replace(part, text=part.text[len(lead):])
        out.append(part)
    return out


def _strip(text: str) -> str:
    return text.strip().strip("，；：,;: ").rstrip("。！？!?；;，,")


def _closes(text: str, b: int) -> bool:
    """Does a sentence end right before offset ``b`` (「…。」 or 「…。”」)?

    >>> _closes("好。”他说", 2), _closes("好。”他说", 1), _closes("好，”他说", 2)
    (True, False, False)
    """
    return text[b - 1] in "。！？!?\n" or (b >= 2 and text[b - 1] in "”’\"」" and text[b - 2] in "。！？!?")


def quote(cands: Sequence[Candidate], passages: Sequence[Passage], i: int, whole: bool = False) -> str:
    """What the answer quotes for candidate ``i``: the sentence holding the clause (what its figure
    or name is about is usually in the same sentence); a long sentence is cut to the clauses around
    the chosen one.  With ``whole`` (a list question), the sentence runs across 「；」 to its 。,
    where an enumeration ends.

    >>> from index.types import Chunk, Hit
    >>> hit = Hit(Chunk(id="c", text="本次活动，签约项目12个；开工项目10个。", source="s"), 1.0, 1)
    >>> cands, passages = candidates([hit], {})
    >>> quote(cands, passages, 1), quote(cands, passages, 1, whole=True)
    ('本次活动，签约项目12个', '本次活动，签约项目12个；开工项目10个')
    """
    c = cands[i]
    chunk = passages[c.hit].hit.chunk
    if whole:
        a, b = c.sent_start, c.sent_end
        while a > 0 and chunk.text[a - 1] not in "。！？!?\n":
            a -= 1
        while b < len(chunk.text) and not _closes(chunk.text, b):
            b += 1
        if b - a <= MAX_LIST_CHARS:
            return _strip(chunk.text[a:b])
    if c.sent_end - c.sent_start <= MAX_SENTENCE_CHARS:
        return _strip(chunk.text[c.sent_start : c.sent_end])
    same = [j for j, d in enumerate(cands) if (d.hit, d.sentence) == (c.hit, c.sentence)]
    k = same.index(i)
    a = b = k
    length = c.end - c.start
    # A clause ending in a colon is a label (「年度体育人物：」): its value follows it, up to the
    # next label, so the quote takes that first.
    def labels(d: Candidate) -> bool:
        return chunk.text[d.start : d.end].rstrip()[-1:] in "：:"

    sides = (-1, 1)
    if labels(c):
        sides = (-1,)
        while b + 1 < len(same) and length + cands[same[b + 1]].end - cands[same[b + 1]].start <= MAX_PART_CHARS:
            b += 1
            length += cands[same[b]].end - cands[same[b]].start
            if labels(cands[same[b]]):
                break
    while True:  # then grow to the left first (the subject), then to the right, within the budget
        grown = False
        for side in sides:
            j = a - 1 if side < 0 else b + 1
            if 0 <= j < len(same):
                d = cands[same[j]]
                if length + d.end - d.start <= MAX_PART_CHARS:
                    length += d.end - d.start
                    a, b = (j, b) if side < 0 else (a, j)
                    grown = True
        if not grown:
            break
    start, end = cands[same[a]].start, cands[same[b]].end
    return _strip(chunk.text[start:end][: MAX_PART_CHARS + 40])


def fuller_date_first(ev: Evidence, ranked: list[int], question: str, depth: int = 12) -> list[int]:
    """When the best clause dates its answer partly (「将于9月1日起施行」「于2022年11月发布」) and
    another of the best ``depth`` clauses states the same date more fully (「将于2022年9月1日实施」
    「在2022年11月30日发布」), that fuller statement of the same answer is quoted first."""
    def times(i: int) -> list:
        c = ev.candidates[i]
        annotation = ev.passages[c.hit].annotation
        return stated_times(ev.text(i), question, names=names_in(annotation.entities if annotation else (), c.start))

    best = ranked[0]
    dates = [d for d in (_date_of(t) for t in times(best)) if d]
    if not dates or any(None not in d for d in dates):
        return ranked
    for i in ranked[1:depth]:
        if any(_extends(d2, d) for d2 in (_date_of(t) for t in times(i)) if d2 for d in dates):
            return [i] + [j for j in ranked if j != i]
    return ranked


# The precise figure first (ablation: no-precise-figure).
PRECISE_FIGURE = True
# A 谁 / 哪家 / 哪个 answer whose quote points back and names nobody also quotes the sentence before
# it (ablation: who-quote-alone).
ANTECEDENT = True
ANTECEDENT_SENTENCES = 2
WHO_KINDS = ("person", "org", "entity")
WHO_TAGS = frozenset({"PER", "ORG"})


def _names_who(p: Passage, start: int, end: int, question: str) -> bool:
    """Does ``p``'s text between ``start`` and ``end`` name a person or body (LAC) the question does not?"""
    text = p.hit.chunk.text
    return any(tag in WHO_TAGS and s < end and e > start and text[s:e] not in question
               for s, e, tag in (p.annotation.entities if p.annotation else ()))


def precise_figure_first(ev: Evidence, ranked: list[int], analysis: QueryAnalysis, depth: int = 12) -> list[int]:
    """When the best clause's sentence (what is quoted) states the asked figure roughly
    (「签约总金额逾285亿元」「交易价值近700亿美金」) and another of the best ``depth`` clauses states a
    figure it bounds exactly (「签约总金额达285.49亿元」), or more precisely (「约1548.2亿元」 for 「超过
    1500亿元」), that statement of the same answer is quoted first (``index.figures.refines``)."""
    if not PRECISE_FIGURE:
        return ranked
    text = ev.sentence(ranked[0])
    rough = [(f, how) for f in find_figures(text)
             if f.key not in analysis.question and (how := bound(text, f)) and _unit_matches(analysis, [f])]
    if not rough:
        return ranked
    for i in ranked[1:depth]:
        other = ev.text(i)
        if any((not bound(other, g) or (ABOUT_REFINES and significant(g) > significant(f))) and refines(g, f, how)
               for g in find_figures(other) for f, how in rough):
            return [i] + [j for j in ranked if j != i]
    return ranked


# 「总投资约1548.2亿元」 refines 「总投资超过1500亿元」: a figure stated with more significant digits is
# the more exact statement, even with 约 before it (ablation: bare-figures-refine).
ABOUT_REFINES = True


def significant(f: Figure) -> int:
    """Significant digits of a figure as printed.

    >>> significant(find_figures("1500亿元")[0]), significant(find_figures("1548.2亿元")[0]), significant(find_figures("0.64亿元")[0])
    (2, 5, 2)
    """
    return len(f.number.replace(".", "").strip("0"))


def _date_of(period) -> tuple | None:
    """(year, month, day) of a period naming one month or day, None where unstated; None for spans."""
    if period.first_month != period.last_month or period.since:
        return None
    return (period.year, period.first_month, period.day)


def _extends(full: tuple, part: tuple) -> bool:
    """Does ``full`` state every field ``part`` states, the same, and more?

    >>> _extends((2022, 9, 1), (None, 9, 1)), _extends((2022, 11, 30), (2022, 11, None)), _extends((2022, 9, 2), (None, 9, 1))
    (True, True, False)
    """
    return all(p is None or p == f for p, f in zip(part, full)) and sum(f is not None for f in full) > sum(
        p is not None for p in part)


class ExtractiveAnswerer:
    name = "extractive"

    def __init__(self, index: BulletinIndex, selector: Selector, refuse_below: float = 0.3, depth: int = 8,
                 paraphrasable: Callable[[str], bool] | None = None, support_weight: float = 0.0,
                 support_depth: int = 0) -> None:
        self.index = index
        self.selector = selector
        self.refuse_below = refuse_below
        self.support_weight = support_weight
        self.support_depth = support_depth  # retrieved passages that vote (beyond ``depth``: voters only)
        self.depth = depth
        self.paraphrasable = paraphrasable or (lambda term: False)

    # --- evidence -----------------------------------------------------------------------------
    def evidence(self, analysis: QueryAnalysis, retrieved: Retrieved) -> Evidence:
        passage_rules, candidate_rules = constraints.for_question(analysis, self.paraphrasable, self.index.article_text,
                                                                     self.index.lexicon)
        g = gather(self.index, analysis, retrieved, self.depth, passage_rules)
        cands, passages, X, kw = g.candidates, g.passages, g.features, g.keywords
        scores = self.selector.rank(X)
        if self.support_weight and len(cands):
            ctx = FeatureContext(analysis, kw, g.query_vector)
            read = {p.hit.chunk.id for p in passages}  # a passage read for candidates does not vote for them too
            voters = [h.chunk for h in retrieved.hits[self.depth : self.support_depth] if h.chunk.id not in read]
            scores = scores + self.support_weight * answer_support(ctx, cands, passages, voters)
        reasons = []
        for c in cands:
            p = passages[c.hit]
            text = p.hit.chunk.text[c.start : c.end]
            sentence = p.hit.chunk.text[c.sent_start : c.sent_end]
            reasons.append(next((r for rule in candidate_rules if (r := rule.candidate(p, c, text, sentence))), ""))
        return Evidence(cands, passages, X, scores, reasons, kw, g.ruled_out)

    # --- answer -------------------------------------------------------------------------------
    def answer(self, analysis: QueryAnalysis, retrieved: Retrieved) -> Draft:
        ev = self.evidence(analysis, retrieved)
        if not ev.candidates:
            return Draft(refused=True, reason=ev.ruled_out[0] if ev.ruled_out else "没有检索到相关段落")
        ranked = ev.ranked()
        if not ranked:
            best = int(np.argmax(ev.scores))
            return Draft(refused=True, reason=ev.reasons[best])
        confidence = self.selector.confidence(ev.features[ranked], ev.scores[ranked])
        if confidence < self.refuse_below:
            return Draft(refused=True, reason="相关段落与问题不够吻合", confidence=round(confidence, 4))
        if analysis.answer_kind == "time":
            ranked = fuller_date_first(ev, ranked, analysis.question)
        if analysis.answer_kind == "number":
            ranked = precise_figure_first(ev, ranked, analysis)
        best = ranked[0]
        if analysis.answer_kind == "how":
            parts = self._measures(ev, ranked)
        else:
            parts = [self._part(ev, best, self._quote(ev, best, whole=analysis.list_intent))]
            if ANTECEDENT and analysis.answer_kind in WHO_KINDS and (before := self._antecedent(analysis, ev, best)):
                parts.insert(0, before)
            parts += self._more(analysis, ev, ranked, parts)
            if LIST_ENUMERATION and analysis.list_intent:
                parts += self._enumeration(analysis, ev, ranked, parts)
        return Draft(parts=name_city_once(parts), confidence=round(confidence, 4))

    def _antecedent(self, analysis: QueryAnalysis, ev: Evidence, i: int) -> Part | None:
        """「…是谁提出的」 answered by 「他提出建立国际联盟…」, or 「哪家企业」 by 「与该公司签订协议」: the
        quote points back and names nobody, so the sentence it points back to, which names who, is
        quoted first.  Up to ``ANTECEDENT_SENTENCES`` sentences back, over ones that point back with
        the same word (「近两年来，该公司业务量激增…」), into the article's previous passage if it was
        retrieved."""
        c = ev.candidates[i]
        p = ev.passages[c.hit]
        text = p.hit.chunk.text
        back = constraints.back_words(text[c.sent_start : c.sent_end])
        if not back or _names_who(p, c.sent_start, c.sent_end, analysis.question):
            return None
        for where, start, end in self._sentences_before(ev, p, c.sent_start):
            sentence = where.hit.chunk.text[start:end]
            if back & constraints.back_words(sentence):
                continue  # 「他…」 again: who is named further back
            if not _names_who(where, start, end, analysis.question):
                return None
            close = sentence.rstrip()[-1:]
            return Part(text=_strip(sentence), hit=where.position, end=close if close in SENTENCE_CLOSE else "")
        return None

    def _sentences_before(self, ev: Evidence, p: Passage, start: int) -> Iterator[tuple[Passage, int, int]]:
        """The sentences before offset ``start`` of ``p``, nearest first, at most ``ANTECEDENT_SENTENCES``,
        going on into the article's previous passage when it is among ``ev``'s passages."""
        left = ANTECEDENT_SENTENCES
        while True:
            for s in reversed([s for s in sentences(p.hit.chunk.text) if s.end <= start]):
                if not left:
                    return
                left -= 1
                yield p, s.start, s.end
            if not left:
                return
            article = self.index.article(p.hit.chunk.id)
            at = next((k for k, other in enumerate(article) if other.id == p.hit.chunk.id), 0)
            previous = next((q for q in ev.passages if at and q.hit.chunk.id == article[at - 1].id), None)
            if previous is None:
                return  # the first passage, or one not retrieved: nothing to cite it by
            p, start = previous, len(previous.hit.chunk.text)

    def _quote(self, ev: Evidence, i: int, whole: bool = False) -> str:
        return quote(ev.candidates, ev.passages, i, whole)

    def _part(self, ev: Evidence, i: int, text: str | None = None) -> Part:
        c = ev.candidates[i]
        chunk = ev.passages[c.hit].hit.chunk
        text = _strip(text) if text is not None else self._quote(ev, i)
        at = chunk.text.find(text) if text else -1
        close = chunk.text[at + len(text) : at + len(text) + 1] if at >= 0 else ""
        if chunk.city and chunk.city not in text and chunk.city[:-1] not in text:
            text = f"{chunk.city}：{text}"
        return Part(text=text, hit=ev.passages[c.hit].position, end=close if close and close in SENTENCE_CLOSE else "")

    def _more(self, analysis: QueryAnalysis, ev: Evidence, ranked: list[int], parts: list[Part]) -> list[Part]:
        """Further clauses for questions with several answers: a list, or a second fact.

        A clause joins when it scores near the best, holds the kind of thing asked for, and says a
        word of the question the answer does not cover yet (a list's members need only share the
        best clause's sentence)."""
        best = ranked[0]
        top = float(ev.scores[best])
        kw = ev.keywords
        chosen = [best]
        out: list[Part] = []
        quoted = "".join(p.text for p in parts)
        for i in ranked[1:12]:
            # Within e (≈ 2.7×) of the best on the ranker's log-odds-like scale.
            if len(out) >= 2 or float(ev.scores[i]) < top - NEAR_BEST:
                break
            text = self._quote(ev, i)
            c = ev.candidates[i]
            if not text or text in quoted or any(text in p.text for p in parts + out):
                continue
            longer = [p for p in parts + out if p.text in text and p.hit == ev.passages[c.hit].position]
            same_sentence = any((c.hit, c.sentence) == (ev.candidates[j].hit, ev.candidates[j].sentence) for j in chosen)
            typed = ev.features[i, _COL["type_match"]] > 0
            new_words = [k for k in kw if k in ev.text(i).lower() and k not in quoted.lower()]
            if typed and (new_words or (analysis.list_intent and same_sentence)):
                part = self._part(ev, i)
                if longer:  # the new quote runs on from an earlier one (same sentence): it replaces it
                    for seq in (parts, out):
                        seq[:] = [part if p is longer[0] else p for p in seq]
                else:
                    out.append(part)
                quoted += text
                chosen.append(i)
        return out

    def _enumeration(self, analysis: QueryAnalysis, ev: Evidence, ranked: list[int], parts: list[Part]) -> list[Part]:
        """A list question's enumeration: when no quote lists things of the asked kind (「…哪四个
        领域」 answered by the lead sentence that names their total), the best-scored sentence of the
        best clause's article that does, and its continuation into the article's next passage when
        a passage boundary cuts it (and that passage was retrieved)."""
        question = own_text(analysis)
        nouns = lists.kind_nouns(question, asked_head(question))
        if not nouns:
            return []
        best = ranked[0]
        article = article_key(ev.passages[ev.candidates[best].hit].hit.chunk)
        quoted = [p.text for p in parts]
        seen: set[tuple[int, int]] = set()
        for i in ranked:
            if float(ev.scores[best]) - float(ev.scores[i]) > ENUMERATION_GAP:
                break
            c = ev.candidates[i]
            chunk = ev.passages[c.hit].hit.chunk
            if (c.hit, c.sentence) in seen or article_key(chunk) != article:
                continue
            seen.add((c.hit, c.sentence))
            text = self._quote(ev, i, whole=True)
            if not lists.enumerates(nouns, question, text):
                continue
            listed = any(text in q or q in text for q in quoted)
            out = [] if listed else [self._part(ev, i, text)]
            return out + self._continuation(ev, i, text, quoted)
        return []

    def _continuation(self, ev: Evidence, i: int, text: str, quoted: list[str]) -> list[Part]:
        """The rest of a sentence ``text`` (quoted from candidate ``i``'s passage) that the passage's
        end cuts: the next passage of its article up to its first sentence end, when retrieved."""
        chunk = ev.passages[ev.candidates[i].hit].hit.chunk
        tail = chunk.text.rstrip()
        if not tail or not _strip(tail).endswith(_strip(text)[-8:]) or _closes(tail, len(tail)):
            return []
        article = self.index.article(chunk.id)
        at = next((k for k, other in enumerate(article) if other.id == chunk.id), len(article))
        if at + 1 >= len(article):
            return []
        following = next((p for p in ev.passages if p.hit.chunk.id == article[at + 1].id), None)
        if following is None:
            return []
        rest = following.hit.chunk.text
        end = next((b for b in range(1, len(rest) + 1) if _closes(rest, b)), len(rest))
        piece = _strip(rest[:end])
        if not piece or len(piece) > MAX_LIST_CHARS or any(piece in q for q in quoted):
            return []
        close = rest[end - 1 : end]
        return [Part(text=piece, hit=following.position, end=close if close in SENTENCE_CLOSE else "")]

    def _measures(self, ev: Evidence, ranked: list[int]) -> list[Part]:
        """「怎么/如何…」: the measures, i.e. the best item's heading and its best sentences."""
        best = ranked[0]
        chunk = ev.passages[ev.candidates[best].hit].hit.chunk
        item = chunk.item
        sentences: dict[tuple[int, int], float] = {}
        for i in ranked:
            c = ev.candidates[i]
            other = ev.passages[c.hit].hit.chunk
            if (item and other.item == item and other.source == chunk.source) or (not item and c.hit == ev.candidates[best].hit):
                key = (c.hit, c.sentence)
                sentences[key] = max(sentences.get(key, 0.0), float(ev.scores[i]))
        keys = sorted(sentences, key=lambda k: -sentences[k])[:3]
        parts = []
        for n, (h, s) in enumerate(sorted(keys)):
            i = next(i for i in ranked if (ev.candidates[i].hit, ev.candidates[i].sentence) == (h, s))
            text = _strip(ev.sentence(i))
            if item and text.startswith(item):
                text = text[len(item):].lstrip("。；，：: ") or text
            if len(text) > MAX_PART_CHARS:
                cut = text.rfind("，", 0, MAX_PART_CHARS)
                text = text[:cut] if cut > 0 else text[:MAX_PART_CHARS]
            if n == 0 and item:
                text = f"{item}：{text}"  # the heading names the measure, its sentences say how
            parts.append(self._part(ev, i, text))
        return parts
