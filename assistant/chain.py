"""The retrieval chain as a LangChain Runnable (LCEL): condense → retrieve → answer → verify.

Wiring only: each step is a small function over a typed ``Turn``.  ``BulletinAssistant.chain`` is
``prepare | retrieve | answer``; ``stream`` yields ``AnswerChunk`` pieces and finally one carrying
the verified ``Answer``; ``ask`` returns that ``Answer``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any

from langchain_core.runnables import RunnableGenerator, RunnableLambda

from assistant import compose, constraints, outline, table_answers
from assistant.condense import condense
from assistant.constraints import looks_like_instruction
from assistant.extractive import Draft, ExtractiveAnswerer, Part, name_city_once
from assistant.features import keywords, metric_modifiers, metric_words
from assistant.llm import LLMAnswerer, LLMError
from assistant.query import QueryAnalysis, analyse, split_compound
from assistant.retrieval import RetrievalConfig, Retrieved, Retriever
from assistant.selector import WEIGHTS_DIR, Selector, default_selector
from assistant.turn import AnswerChunk, InvalidQuestionError, Reset, Turn, validate_question
from assistant.types import Answer, Citation
from index.cleaning import fold_width
from index.figures import find_figures
from index.gazetteer import gazetteer
from index.lexicon import STOPWORDS
from index.periods import find_periods
from index.store import BulletinIndex, Filter
from index.types import Hit
from settings import Settings

log = logging.getLogger(__name__)
REFUSAL_PREFIX = compose.REFUSAL_PREFIX
# 「…8月1日下线的电池年产能是多少？该项目是什么时候开工的？」: the second part asks a time, so the first
# part's 8月1日 does not constrain its answer (ablation: carried-period-for-when).
OWN_PERIOD_FOR_WHEN = True

# Whether a draft answers one part of a compound question is judged on the words that part does not
# share with the others (ablation: shared-words-cover).
DISTINCT_WORDS_COVER = True

# A compound question's figure sub-question that names no unit is answered by an earlier part only
# when that part names the figure's metric (ablation: any-figure-covers).
METRIC_COVERED = True
__all__ = ["REFUSAL_PREFIX", "AnswerChunk", "BulletinAssistant", "InvalidQuestionError", "validate_question"]


def _interleave(rankings: list[list[Hit]]) -> list[Hit]:
    """Round-robin merge of several rankings, first occurrence kept (ranks as they were)."""
    seen: dict[str, Hit] = {}
    for rank in range(max((len(r) for r in rankings), default=0)):
        for ranking in rankings:
            if rank < len(ranking) and ranking[rank].chunk.id not in seen:
                seen[ranking[rank].chunk.id] = ranking[rank]
    return list(seen.values())


class BulletinAssistant:
    """Answers questions over one index; build once, ask many times (thread-safe reads)."""

    def __init__(self, settings: Settings, index: BulletinIndex | None = None, retrieval: RetrievalConfig | None = None,
                 llm: LLMAnswerer | None = None, selector: Selector | None = None) -> None:
        self.settings = settings
        self.index = index or BulletinIndex(settings)
        self.index.check()
        self.retriever = Retriever(self.index, retrieval or RetrievalConfig.from_settings(settings))
        self.llm = llm if llm is not None else (LLMAnswerer(settings) if settings.llm_enabled else None)
        selector = selector or default_selector(settings.selector_dir or WEIGHTS_DIR)
        self.extractive = ExtractiveAnswerer(self.index, selector, refuse_below=settings.refuse_below,
                                             depth=settings.answer_depth, paraphrasable=self._paraphrasable,
                                             support_weight=settings.support_weight, support_depth=settings.support_depth)
        self.chain = (
            RunnableLambda(self._prepare, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableGenerator(self._generate, name="answer_verify")
        )

    # --- corpus facts ----------------------------------------------------------------------
    def _paraphrasable(self, term: str) -> bool:
        """A quoted term the corpus never uses, made only of words it does use (「投产一批」 for
        投产项目), may be the asker's paraphrase: weighed, not required.  A term with a word the
        corpus never uses (「人才强市」) stays required, so made-up policies are refused."""
        generation = self.index.catalog.generation
        cache = getattr(self, "_paraphrase_cache", None)
        if cache is None or cache[0] != generation or len(cache[1]) > 10_000:  # terms come from users: bounded
            cache = self._paraphrase_cache = (generation, {})
        verdict = cache[1].get(term)
        if verdict is None:
            if self.index.contains(term):
                verdict = False
            else:
                tokens = [t for t in self.index.lexicon.tokenize(term) if t not in STOPWORDS]
                verdict = bool(tokens) and all(self.index.df(t) > 0 for t in tokens)
            cache[1][term] = verdict
        return verdict

    def _subject(self, condensed) -> tuple[str, ...]:
        """The word of a follow-up's carried context the corpus uses least (「晶科能源项目年产」 → 晶科):
        what 「那它…」 is about, which the answer's article must name.  Places are constrained on their
        own; words the corpus never uses cannot be required."""
        places = {m.surface for m in gazetteer().find(condensed.context)}
        words = [t for t in self.index.lexicon.tokenize(condensed.context)
                 if len(t) >= 2 and t not in STOPWORDS and t not in condensed.question
                 and not any(t in p or p in t for p in places) and self.index.df(t) > 0]
        return (min(words, key=lambda t: (self.index.df(t), t)),) if words else ()

    # --- steps -----------------------------------------------------------------------------
    def _analyse(self, question: str, history: list, follow_up: bool = False) -> tuple:
        terms = self.index.lexicon.entities
        condensed = condense(question, history, terms, follow_up=follow_up)
        analysis = analyse(condensed.question, terms)
        if condensed.context:
            context = analyse(condensed.full, terms)
            # Search with the carried context; constrain by the places/terms/periods of both turns.
            carried = tuple(t for t in context.terms if t not in condensed.question) or self._subject(condensed)
            # A when-question's answer is a time: a period carried from the turn before does not bound it.
            periods = analysis.periods if analysis.answer_kind == "time" and OWN_PERIOD_FOR_WHEN else context.periods
            analysis = replace(analysis, search_text=f"{condensed.context} {analysis.search_text}", places=context.places,
                               terms=context.terms, periods=periods, carried_terms=carried,
                               extra={"context": condensed.context})
        return condensed, analysis

    def _prepare(self, request: Turn | Mapping[str, Any]) -> Turn:
        # The chain is a LangChain Runnable: it takes a Turn, or the usual dict of its fields.
        turn = request if isinstance(request, Turn) else Turn(
            question=request.get("question"), history=list(request.get("history") or []),
            city=request.get("city") or "", k=int(request.get("k") or self.settings.top_k),
            date_from=request.get("date_from") or "", date_to=request.get("date_to") or "")
        t0 = time.perf_counter()
        turn.question = validate_question(turn.question, self.settings.max_question_chars)
        turn.condensed, turn.analysis = self._analyse(turn.question, turn.history)
        # 「运营公司有几家，平台公司投资多少？」: each sub-question can be searched and answered on its
        # own, later ones carrying the earlier ones' subject like a follow-up.
        subs = split_compound(turn.condensed.question) if not turn.condensed.context else [turn.condensed.question]
        if len(subs) > 1:
            turn.sub_analyses = [self._analyse(sub, subs[:i], follow_up=i > 0)[1] for i, sub in enumerate(subs)]
        flt = Filter(city=turn.city, date_from=turn.date_from, date_to=turn.date_to)
        turn.filter = flt if flt else None
        turn.timings["condense_ms"] = (time.perf_counter() - t0) * 1000
        return turn

    def _retrieve(self, turn: Turn) -> Turn:
        t0 = time.perf_counter()
        assert turn.analysis is not None
        # The passages after the answer depth are read too, as voters of the cross-document support.
        depth = max(turn.k, self.settings.answer_depth, self.settings.support_depth if self.settings.support_weight else 0)
        turn.retrieved = self.retriever.retrieve(turn.analysis, depth, turn.filter,
                                                 timings=turn.timings)
        turn.timings["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        return turn

    def _generate(self, turns: Iterator[Turn]) -> Iterator[AnswerChunk]:
        for turn in turns:
            yield from self._answer(turn)

    def _answer(self, turn: Turn) -> Iterator[AnswerChunk]:
        assert turn.analysis is not None and turn.retrieved is not None
        hits = turn.retrieved.hits
        passages = hits[: turn.k]
        t0 = time.perf_counter()
        # A question about a section's items is answered from the bulletin's structure: no
        # single passage (and so neither extraction nor an LLM shown top-k passages) holds them.
        answer = self._table_answer(turn)
        if answer is None:
            answer = self._outline_answer(turn)
        structural = answer is not None
        draft = None
        if answer is None:
            draft = self.extractive.answer(turn.analysis, turn.retrieved)
            if turn.sub_analyses and not all(self._covers(draft, sub, turn.sub_analyses) for sub in turn.sub_analyses):
                draft, hits = self._compound_draft(turn)
        turn.timings["extract_ms"] = (time.perf_counter() - t0) * 1000
        backend, fallback = "extractive", None
        if answer is None and self.llm is not None and passages:
            t1 = time.perf_counter()
            pieces: list[str] = []
            try:
                for piece in self.llm.stream(turn.condensed_text, [h.chunk for h in passages]):
                    pieces.append(piece)
                    yield AnswerChunk(text=piece)
                answer = compose.from_llm(turn, "".join(pieces).strip(), passages)
                if answer is None:
                    fallback = "the LLM answer cited no passage, so it could not be verified"
                else:
                    backend = self.llm.name
            except LLMError as exc:
                fallback = str(exc)
            turn.timings["llm_ms"] = (time.perf_counter() - t1) * 1000
            if answer is None:
                log.warning("LLM answer unusable, using the extractive answer: %s", fallback)
                yield AnswerChunk(reset=Reset(fallback or ""))
        if answer is None:
            assert draft is not None
            answer = compose.from_draft(turn, draft, hits)
            if not answer.refused:
                answer = self._with_other_issue(turn, answer)
        if backend == "extractive":
            for part in re.split(r"(?<=[；。])", answer.text):
                if part:
                    yield AnswerChunk(text=part)
        answer.backend = backend
        answer.fallback_reason = fallback
        answer.retrieved = [h.chunk.id for h in hits]
        if structural:
            # The section's items were found through the bulletin's structure, not the search:
            # those passages are what this answer retrieved, ahead of the search results.
            answer.retrieved = list(dict.fromkeys([c.chunk_id for c in answer.citations] + answer.retrieved))
        answer.timings_ms = {**turn.timings, "total_ms": sum(v for k, v in turn.timings.items() if k.endswith("_ms")
                                                             and k not in ("dense_ms", "bm25_ms", "rerank_ms"))}
        yield AnswerChunk(answer=answer)

    # --- compound questions ---------------------------------------------------------------
    def _covers(self, draft: Draft, sub: QueryAnalysis, parts: Sequence[QueryAnalysis] = ()) -> bool:
        """Does a draft made for the whole question also answer this sub-question?

        A figure sub-question needs a figure of its unit, a time sub-question a time it does not
        state; another needs most of its own words."""
        if draft.refused or not draft.parts:
            return False
        text = "".join(p.text for p in draft.parts)
        if sub.figure_intent:
            # 「对接了多少项央企项目？总投资多少？」: the sub-question's metric must be the draft's too.
            folded = fold_width(text).lower()
            if constraints.METRIC_CONSTRAINT and any(m not in folded for m in metric_modifiers(sub, self.index.lexicon)):
                return False
            # 「投资多少？建成达产后预计新增年产值多少？」: a money figure of 投资 is no 年产值.  A unit the
            # sub-question names (「总面积多少亩」) tells its figure apart; a kind (money) does not.
            asked = metric_words(sub, self.index.lexicon)
            if METRIC_COVERED and not sub.units and asked and not any(m in folded for m in asked):
                return False
            figs = [f for f in find_figures(text) if f.is_quantity]
            if sub.units:
                return any(f.unit in sub.units for f in figs)
            if sub.unit_kinds:
                return any(f.kind in sub.unit_kinds or not f.unit for f in figs)
            return bool(figs)
        if sub.answer_kind == "time" and not any(p.text not in sub.question for p in find_periods(text)):
            return False  # 「哪一年设立的？」 is not answered by a draft stating no other time
        own = keywords(replace(sub, extra={}), self.index.lexicon, self.index.df, len(self.index.chunks))
        if DISTINCT_WORDS_COVER:
            # 「天合光能…年产能是多少？天合光能全产业链项目是什么时候开工建设的？」: the subject both
            # parts name says nothing of whether a draft answers this one; its own words do.
            others = [p.question for p in parts if p is not sub]
            distinct = {k: w for k, w in own.items() if not any(k in o for o in others)}
            own = distinct or own
        total = sum(own.values())
        return total == 0 or sum(w for k, w in own.items() if k in text) >= 0.5 * total

    def _compound_draft(self, turn: Turn) -> tuple[Draft, list[Hit]]:
        """One draft from the sub-questions' own searches and drafts, and the hits it cites into.

        A sub-question without evidence says so."""
        assert turn.retrieved is not None
        depth = self.settings.answer_depth
        found = [self.retriever.retrieve(a, max(turn.k, depth), turn.filter) for a in turn.sub_analyses]
        seen = {h.chunk.id for h in turn.retrieved.hits}
        extra = [h for h in _interleave([f.hits for f in found]) if h.chunk.id not in seen]
        hits = [replace(h, rank=n) for n, h in enumerate(turn.retrieved.hits + extra, 1)]
        position = {h.chunk.id: n for n, h in enumerate(hits)}
        parts: list[Part] = []
        reasons: list[str] = []
        confidences: list[float] = []
        said: set[str] = set()  # the places, periods and terms the parts before named
        for analysis, retrieved in zip(turn.sub_analyses, found, strict=True):
            own = {*analysis.place_names, *(p.text for p in analysis.periods), *analysis.terms}
            answered = [p for p in parts if p.hit >= 0]
            if answered and own <= said and self._covers(Draft(parts=answered), analysis, turn.sub_analyses):
                continue  # 「对接了多少项央企项目？总投资多少？」: the first part's sentence gives both
            said |= own
            draft = self.extractive.answer(analysis, retrieved)
            if draft.refused or not draft.parts:
                reasons.append(draft.reason)
                parts.append(Part(text=f"关于“{analysis.question}”，简报中未找到相关信息", hit=-1))
                continue
            confidences.append(draft.confidence)
            for p in draft.parts:
                # Two sub-questions answered by one clause (「招引了几个项目，总投资多少」) quote it once.
                if not any(p.text in q.text or q.text in p.text for q in parts):
                    parts.append(replace(p, hit=position[retrieved.hits[p.hit].chunk.id]))
        if all(p.hit < 0 for p in parts):
            return Draft(refused=True, reason=reasons[0] if reasons else ""), hits
        # As sure as its least sure answered part (what the refusal threshold is calibrated on).
        return Draft(parts=name_city_once(parts), confidence=min(confidences)), hits

    # --- structure questions ----------------------------------------------------------------
    def _outlines(self) -> list[outline.Outline]:
        generation = self.index.catalog.generation
        cached = getattr(self, "_outline_cache", None)
        if cached is None or cached[0] != generation:
            self._outline_cache = (generation, outline.outlines(self.index.chunks.values()))
        return self._outline_cache[1]

    def _table_answer(self, turn: Turn) -> Answer | None:
        """Sums, comparisons, threshold lists, trends and the latest value, from the figure table."""
        assert turn.analysis is not None
        assert turn.retrieved is not None
        context = [h.chunk.id for h in turn.retrieved.hits[: self.settings.answer_depth]]
        found = table_answers.answer(turn.condensed_text, turn.analysis, self._figures(turn), self.index.lexicon.words,
                                     context)
        if found is None:
            return None
        chunks = [self.index.chunk(cid) for cid in found.chunk_ids]
        if any(c is None for c in chunks):
            return None  # the index changed under the table's rows: answer from the passages instead
        citations = [Citation.from_chunk(n, c, 1.0) for n, c in enumerate(chunks, 1)]
        answer = compose.verified(turn, found.text, citations)
        answer.table, answer.table_kind = [r.to_dict() for r in found.rows], found.kind
        return answer

    def _figures(self, turn: Turn, dated_only: bool = False):
        """The figure table as the answerer may use it: the turn's date range, and no row of a passage
        that addresses an AI (it is no evidence, as in the passage answers)."""
        index = self.index

        def usable(chunk_id: str) -> bool:
            chunk = index.chunk(chunk_id)
            return chunk is not None and not looks_like_instruction(chunk.text) and (
                not dated_only or (bool(chunk.date) and chunk.date_source != "mtime"))

        def figures(**kw):
            rows, total = index.figures(date_from=turn.date_from, date_to=turn.date_to, **kw)
            return [r for r in rows if usable(r.chunk_id)], total

        return figures

    def _with_other_issue(self, turn: Turn, answer: Answer) -> Answer:
        """The same figure stated differently by another dated bulletin: say which is current and
        cite both (the newer one wins)."""
        # A date from a file's modification time says nothing about which report is newer.
        conflict = table_answers.conflicting(answer.text, [c.chunk_id for c in answer.citations],
                                             self._figures(turn, dated_only=True))
        chunk = self.index.chunk(conflict.chunk_id) if conflict else None
        if conflict is None or chunk is None:
            return answer
        known = {c.chunk_id: c.n for c in answer.citations}
        n = known.get(chunk.id) or len(answer.citations) + 1
        citations = answer.citations + ([] if chunk.id in known else [Citation.from_chunk(n, chunk, 1.0)])
        note = conflict.note.format(n=f"[{n}]")
        text = answer.text.rstrip("。") + ("" if note.startswith("（") else "；") + note + "。"
        updated = compose.verified(turn, text, citations)
        updated.confidence = answer.confidence
        return updated

    def _outline_answer(self, turn: Turn) -> Answer | None:
        analysis = turn.analysis
        assert analysis is not None
        kw = keywords(analysis, self.index.lexicon, self.index.df, len(self.index.chunks))
        found = outline.match(analysis.search_text, kw, analysis.place_names, self._outlines(),
                              self.index.lexicon.tokenize, city=turn.city)
        if found is None:
            return None
        text, chunks = outline.compose(*found)
        return compose.verified(turn, text, [Citation.from_chunk(n, c, 1.0) for n, c in enumerate(chunks, 1)])

    # --- public API -----------------------------------------------------------------------
    def stream(self, question: str, history: list | None = None, city: str = "", k: int | None = None,
               date_from: str = "", date_to: str = "") -> Iterator[AnswerChunk]:
        """``date_from`` / ``date_to`` (ISO prefixes) keep documents of that range only."""
        turn = Turn(question=question, history=history or [], city=city or "", k=int(k or self.settings.top_k),
                    date_from=date_from or "", date_to=date_to or "")
        yield from self.chain.stream(turn)

    def ask(self, question: str, history: list | None = None, city: str = "", k: int | None = None,
            date_from: str = "", date_to: str = "") -> Answer:
        final: AnswerChunk | None = None
        for chunk in self.stream(question, history, city, k, date_from, date_to):
            final = chunk if final is None else final + chunk
        assert final is not None and final.answer is not None
        return final.answer

    def known_cities(self) -> list[str]:
        return self.index.cities()

    @property
    def ready(self) -> bool:
        """True once ``warm_up`` ran: the first user question is then as fast as the tenth."""
        return getattr(self, "_warm", False)

    def warm_up(self) -> float:
        """Load what the first answer would load (the encoder, jieba and its POS tagger with the
        corpus lexicon, the gazetteer, the selector, the index's chunks) by answering one question;
        returns the seconds it took."""
        t0 = time.perf_counter()
        self.ask("开发区签约项目投资额是多少？")
        self._warm = True
        return time.perf_counter() - t0

    def retrieve(self, analysis: QueryAnalysis, k: int, flt: Filter | None = None) -> Retrieved:
        return self.retriever.retrieve(analysis, k, flt)
