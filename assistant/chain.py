"""The retrieval chain as a LangChain Runnable (LCEL): condense → retrieve → answer → verify.

``BulletinAssistant.chain`` is ``prepare | retrieve | generate``; ``stream``
yields ``AnswerChunk`` segments and finally one carrying the verified
``Answer``; ``ask`` returns that ``Answer``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from langchain_core.runnables import RunnableGenerator, RunnableLambda

import prompts
from assistant import outline
from assistant.condense import Condensed, condense
from assistant.extractive import Draft, ExtractiveAnswerer, Part, looks_like_instruction, name_city_once
from assistant.llm import LLMAnswerer, LLMError
from assistant.query import YEAR_RE, QueryAnalysis, analyse, find_figures, find_places, split_compound
from assistant.retrieval import RetrievalConfig, Retriever
from assistant.types import Answer, Citation
from assistant.verify import verify
from index.articles import places
from index.store import BulletinIndex, Filter
from index.types import Hit
from settings import Settings

log = logging.getLogger(__name__)
REFUSAL_PREFIX = "简报中未找到"


class InvalidQuestionError(ValueError):
    """The question is empty or too long; the message says which."""


@dataclass
class AnswerChunk:
    """A streamed piece of an answer; the last one carries the verified ``Answer``.

    Chunks add up (``a + b``), which is how LangChain aggregates a stream.
    """

    text: str = ""
    answer: Answer | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __add__(self, other: AnswerChunk) -> AnswerChunk:
        return AnswerChunk(self.text + other.text, other.answer or self.answer, {**self.meta, **other.meta})


def validate_question(question: object, max_chars: int) -> str:
    if not isinstance(question, str):
        raise InvalidQuestionError("问题必须是文本 (the question must be a string)")
    text = question.strip()
    if not text:
        raise InvalidQuestionError("问题为空，请输入要查询的内容 (empty question)")
    if len(text) > max_chars:
        raise InvalidQuestionError(
            f"问题过长（{len(text)} 字，上限 {max_chars} 字），请精简后再问 (question longer than {max_chars} characters)"
        )
    return text


def _answers(extractive: ExtractiveAnswerer, draft: Draft, sub: QueryAnalysis) -> bool:
    """Does a draft made for the whole question also answer this sub-question?

    A figure sub-question needs a figure of its unit; another needs most of its own words.
    """
    if draft.refused or not draft.parts:
        return False
    text = "".join(p.text for p in draft.parts)
    if sub.figure_intent:
        units = [u for _, u in find_figures(text) if u]
        return any(u in sub.units for u in units) if sub.units else bool(units)
    own = extractive.own_keywords(extractive.keywords(sub))
    total = sum(own.values())
    return total == 0 or sum(w for k, w in own.items() if k in text) >= 0.5 * total


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
                 llm: LLMAnswerer | None = None) -> None:
        self.settings = settings
        self.index = index or BulletinIndex(settings)
        self.index.check()
        self.retriever = Retriever(self.index, retrieval or RetrievalConfig.from_settings(settings))
        self.llm = llm if llm is not None else (LLMAnswerer(settings) if settings.llm_enabled else None)
        self.chain = (
            RunnableLambda(self._prepare, name="condense")
            | RunnableLambda(self._retrieve, name="retrieve")
            | RunnableGenerator(self._generate, name="answer_verify")
        )

    # --- corpus facts the answerer needs ----------------------------------
    def _corpus_facts(self) -> tuple[frozenset[int], frozenset[str]]:
        """Years and places the corpus mentions (recomputed when a build commits)."""
        generation = self.index.catalog.generation
        cached = getattr(self, "_facts", None)
        if cached is None or cached[0] != generation:
            years: set[int] = set()
            text_places: set[str] = set()
            for chunk in self.index.chunks.values():
                years.update(int(y) for y in YEAR_RE.findall(chunk.text))
                text_places.update(find_places(f"{chunk.city} {chunk.text}"))
            self._facts = (generation, (frozenset(years), frozenset(text_places)))
        return self._facts[1]

    def extractive(self) -> ExtractiveAnswerer:
        years, known = self._corpus_facts()
        return ExtractiveAnswerer(
            self.index.lexicon,
            self.index.df,
            len(self.index.chunks),
            refuse_below=self.settings.refuse_below,
            corpus_years=years,
            known_places=known.__contains__,
            in_corpus=self._in_corpus,
        )

    def _in_corpus(self, text: str) -> bool:
        """Does any passage contain ``text``?  Memoised per index generation: the period and
        term checks ask about the same few words (二季度, GDP) for many questions."""
        generation = self.index.catalog.generation
        cache = getattr(self, "_in_corpus_cache", None)
        if cache is None or cache[0] != generation or len(cache[1]) > 10_000:  # words come from users: bounded
            cache = self._in_corpus_cache = (generation, {})
        found = cache[1].get(text)
        if found is None:
            found = cache[1][text] = any(text in c.text for c in self.index.chunks.values())
        return found

    # --- chain steps -----------------------------------------------------------
    def _analyse_turn(self, question: str, history: list, follow_up: bool = False) -> tuple[Condensed, QueryAnalysis]:
        terms = self.index.lexicon.entities
        condensed = condense(question, history, terms, follow_up=follow_up)
        analysis = analyse(condensed.question, terms)
        if condensed.context:
            context_analysis = analyse(condensed.full, terms)
            # Search with the carried context; constrain by the places/terms/periods of both turns.
            analysis = replace(
                analysis,
                search_text=f"{condensed.context} {analysis.search_text}",
                places=context_analysis.places,
                terms=context_analysis.terms,
                years=context_analysis.years,
                periods=context_analysis.periods,
                extra={"context": condensed.context},
            )
        return condensed, analysis

    def _prepare(self, request: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        question = validate_question(request.get("question"), self.settings.max_question_chars)
        condensed, analysis = self._analyse_turn(question, request.get("history") or [])
        # 「运营公司有几家，平台公司投资多少？」: each sub-question is searched and answered on its
        # own, later ones carrying the earlier ones' subject like a follow-up.
        subs = split_compound(condensed.question) if not condensed.context else [condensed.question]
        sub_analyses = [self._analyse_turn(sub, subs[:i], follow_up=i > 0)[1] for i, sub in enumerate(subs)] if len(subs) > 1 else []
        city = request.get("city") or ""
        timings = {"condense_ms": (time.perf_counter() - t0) * 1000}
        return {**request, "question": question, "analysis": analysis, "city": city, "timings": timings,
                "condensed": condensed.full, "sub_analyses": sub_analyses}

    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        k = int(state.get("k") or self.settings.top_k)
        flt = Filter(city=state["city"]) if state["city"] else None
        hits = self.retriever.search(state["analysis"], max(k, 10), flt, timings=state["timings"])
        state["timings"]["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        return {**state, "hits": hits, "k": k, "filter": flt}

    def _generate(self, states: Iterator[dict[str, Any]]) -> Iterator[AnswerChunk]:
        for state in states:
            yield from self._answer(state)

    def _answer(self, state: dict[str, Any]) -> Iterator[AnswerChunk]:
        analysis: QueryAnalysis = state["analysis"]
        hits: list[Hit] = state["hits"]
        passages = hits[: state["k"]]
        timings = state["timings"]
        t0 = time.perf_counter()
        extractive = self.extractive()
        # A question about a section's items is answered from the bulletin's structure: no
        # single passage (and so neither extraction nor an LLM shown top-k passages) holds them.
        answer: Answer | None = self._outline_answer(state, extractive)
        structural = answer is not None
        # The extractive answerer may look a little deeper than the passages shown to an LLM.
        draft = None
        if answer is None:
            depth = max(state["k"], 8)
            draft = extractive.answer(analysis, hits[:depth])
            if state["sub_analyses"] and not all(
                _answers(extractive, draft, sub) for sub in state["sub_analyses"]
            ):
                draft, hits = self._compound_draft(extractive, state, depth)
        timings["extract_ms"] = (time.perf_counter() - t0) * 1000
        backend, fallback = "extractive", None
        if answer is None and self.llm is not None and passages:
            t1 = time.perf_counter()
            pieces: list[str] = []
            try:
                for piece in self.llm.stream(state["condensed"], [h.chunk for h in passages]):
                    pieces.append(piece)
                    yield AnswerChunk(text=piece)
                answer = self._from_llm(state, "".join(pieces).strip(), passages)
                if answer is None:
                    fallback = "the LLM answer cited no passage, so it could not be verified"
                else:
                    backend = self.llm.name
            except LLMError as exc:
                fallback = str(exc)
            timings["llm_ms"] = (time.perf_counter() - t1) * 1000
            if answer is None:
                log.warning("LLM answer unusable, using the extractive answer: %s", fallback)
                yield AnswerChunk(meta={"reset": True, "fallback_reason": fallback})

        if answer is None:
            assert draft is not None
            answer = self._from_draft(state, draft, hits)
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
        answer.timings_ms = {**timings, "total_ms": sum(v for k2, v in timings.items() if k2.endswith("_ms")
                                                         and k2 not in ("dense_ms", "bm25_ms", "rerank_ms"))}
        yield AnswerChunk(answer=answer)

    def _compound_draft(self, extractive: ExtractiveAnswerer, state: dict[str, Any], depth: int) -> tuple[Draft, list[Hit]]:
        """One draft from the sub-questions' own searches and drafts, and the hits it cites into.

        Searched only when the whole question's answer misses a part (most compound questions
        are answered by one sentence).  A sub-question without evidence says so.
        """
        sub_hits = [self.retriever.search(a, max(state["k"], 10), state["filter"]) for a in state["sub_analyses"]]
        # The whole question's ranking first; what only the sub-questions found after it.
        seen = {h.chunk.id for h in state["hits"]}
        extra = [h for h in _interleave(sub_hits) if h.chunk.id not in seen]
        hits = [replace(h, rank=n) for n, h in enumerate(state["hits"] + extra, 1)]
        position = {h.chunk.id: n for n, h in enumerate(hits)}
        parts: list[Part] = []
        reasons: list[str] = []
        for analysis, ranking in zip(state["sub_analyses"], sub_hits, strict=True):
            draft = extractive.answer(analysis, ranking[:depth])
            if draft.refused or not draft.parts:
                reasons.append(draft.reason)
                parts.append(Part(text=f"关于“{analysis.question}”，简报中未找到相关信息", hit=-1))
                continue
            for p in draft.parts:
                # Two sub-questions answered by one clause (「招引了几个项目，总投资多少」) quote it once.
                if not any(p.text in q.text or q.text in p.text for q in parts):
                    parts.append(Part(text=p.text, hit=position[ranking[p.hit].chunk.id]))
        if all(p.hit < 0 for p in parts):
            return Draft(refused=True, reason=reasons[0] if reasons else ""), hits
        return Draft(parts=name_city_once(parts)), hits

    def _outlines(self) -> list[outline.Outline]:
        generation = self.index.catalog.generation
        cached = getattr(self, "_outline_cache", None)
        if cached is None or cached[0] != generation:
            self._outline_cache = (generation, outline.outlines(self.index.chunks.values()))
        return self._outline_cache[1]

    def _outline_answer(self, state: dict[str, Any], extractive: ExtractiveAnswerer) -> Answer | None:
        analysis: QueryAnalysis = state["analysis"]
        found = outline.match(
            analysis.search_text,
            extractive.keywords(analysis),
            analysis.places,
            self._outlines(),
            self.index.lexicon.tokenize,
            city=state["city"],
        )
        if found is None:
            return None
        text, chunks = outline.compose(*found)
        return self._verified(state, text, [Citation.from_chunk(n, c, 1.0) for n, c in enumerate(chunks, 1)])

    # --- composing answers ------------------------------------------------------
    def _refusal(self, state: dict[str, Any], reason: str, passages: list[Hit]) -> Answer:
        nearest = [Citation.from_hit(i, h) for i, h in enumerate(passages[:3], 1)]
        return Answer(
            question=state["question"],
            text=prompts.render("refusal", reason=reason or "相关段落没有给出答案"),
            refused=True,
            nearest=nearest,
            condensed_question=state["condensed"],
        )

    def _from_draft(self, state: dict[str, Any], draft: Draft, passages: list[Hit]) -> Answer:
        if draft.refused or not draft.parts:
            return self._refusal(state, draft.reason, passages)
        order: dict[int, int] = {}
        for part in draft.parts:
            if part.hit >= 0:
                order.setdefault(part.hit, len(order) + 1)
        text = draft.render(lambda hit: order[hit])
        citations = [Citation.from_hit(n, passages[hit]) for hit, n in order.items()]
        return self._verified(state, text, citations)

    def _from_llm(self, state: dict[str, Any], text: str, passages: list[Hit]) -> Answer | None:
        """The LLM's answer, renumbered and verified; None when it cites nothing (unverifiable)."""
        if text.lstrip("“\"「『 ").startswith(REFUSAL_PREFIX):
            return self._refusal(state, "大模型判断段落中没有答案", passages)
        # Renumber the passages the model cited as 1..m, in order of first citation.
        used = [int(n) for n in re.findall(r"\[(\d+)\]", text) if 1 <= int(n) <= len(passages)]
        order = {n: i for i, n in enumerate(dict.fromkeys(used), 1)}
        if not order:
            return None
        injected = [old for old in order if looks_like_instruction(passages[old - 1].chunk.text)]
        if injected:
            # Verification would find the injected figure in the injected passage itself: not evidence.
            raise LLMError(f"the LLM answer cites passage [{injected[0]}], which holds instructions to an AI "
                           "(prompt injection), so it is not used")
        text = re.sub(r"\[(\d+)\]", lambda m: f"[{order[int(m.group(1))]}]" if int(m.group(1)) in order else "", text)
        citations = [Citation.from_hit(new, passages[old - 1]) for old, new in order.items()]
        return self._verified(state, text, citations)

    def _verified(self, state: dict[str, Any], text: str, citations: list[Citation]) -> Answer:
        t0 = time.perf_counter()
        check = verify(text, {c.n: c.text for c in citations})
        state["timings"]["verify_ms"] = (time.perf_counter() - t0) * 1000
        kept = [c for c in citations if c.n in check.cited] or citations
        return Answer(
            question=state["question"],
            text=check.text,
            refused=False,
            citations=kept,
            unsupported_figures=check.unsupported,
            condensed_question=state["condensed"],
        )

    # --- public API -------------------------------------------------------------
    def stream(self, question: str, history: list | None = None, city: str = "", k: int | None = None) -> Iterator[AnswerChunk]:
        yield from self.chain.stream({"question": question, "history": history or [], "city": city, "k": k})

    def ask(self, question: str, history: list | None = None, city: str = "", k: int | None = None) -> Answer:
        final: AnswerChunk | None = None
        for chunk in self.stream(question, history, city, k):
            final = chunk if final is None else final + chunk
        assert final is not None and final.answer is not None
        return final.answer

    def known_cities(self) -> list[str]:
        cities = {c.city for c in self.index.chunks.values() if c.city}
        return sorted(cities, key=lambda c: (c not in places()["city"], c))
