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
from assistant.condense import condense
from assistant.extractive import Draft, ExtractiveAnswerer
from assistant.llm import LLMAnswerer, LLMError
from assistant.query import YEAR_RE, QueryAnalysis, analyse, find_places
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
        return any(text in c.text for c in self.index.chunks.values())

    # --- chain steps -----------------------------------------------------------
    def _prepare(self, request: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        question = validate_question(request.get("question"), self.settings.max_question_chars)
        terms = self.index.lexicon.entities
        condensed = condense(question, request.get("history") or [], terms)
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
        city = request.get("city") or ""
        timings = {"condense_ms": (time.perf_counter() - t0) * 1000}
        return {**request, "question": question, "analysis": analysis, "city": city, "timings": timings,
                "condensed": condensed.full}

    def _retrieve(self, state: dict[str, Any]) -> dict[str, Any]:
        t0 = time.perf_counter()
        k = int(state.get("k") or self.settings.top_k)
        flt = Filter(city=state["city"]) if state["city"] else None
        hits = self.retriever.search(state["analysis"], max(k, 10), flt, timings=state["timings"])
        state["timings"]["retrieve_ms"] = (time.perf_counter() - t0) * 1000
        return {**state, "hits": hits, "k": k}

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
        draft = extractive.answer(analysis, hits[: max(state["k"], 8)]) if answer is None else None
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
