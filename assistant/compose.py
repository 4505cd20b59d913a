"""From a draft (extractive) or a text (LLM) to a verified ``Answer`` with numbered citations."""

from __future__ import annotations

import re
import time

import prompts
from assistant.constraints import looks_like_instruction
from assistant.extractive import Draft
from assistant.llm import LLMError
from assistant.turn import Turn
from assistant.types import Answer, Citation
from assistant.verify import verify
from index.types import Hit

REFUSAL_PREFIX = "简报中未找到"


def refusal(turn: Turn, reason: str, passages: list[Hit]) -> Answer:
    nearest = [Citation.from_hit(i, h) for i, h in enumerate(passages[:3], 1)]
    return Answer(
        question=turn.question,
        text=prompts.render("refusal", reason=reason or "相关段落没有给出答案"),
        refused=True,
        nearest=nearest,
        condensed_question=turn.condensed_text,
    )


def from_draft(turn: Turn, draft: Draft, passages: list[Hit]) -> Answer:
    if draft.refused or not draft.parts:
        answer = refusal(turn, draft.reason, passages)
        answer.confidence = draft.confidence
        return answer
    order: dict[int, int] = {}
    for part in draft.parts:
        if part.hit >= 0:
            order.setdefault(part.hit, len(order) + 1)
    # Notes (「关于“…”，简报中未找到相关信息」) cite nothing and repeat the question's words: they are
    # added after verification, which checks what the passages must back.
    notes = [p.text for p in draft.parts if p.hit < 0]
    cited = Draft(parts=[p for p in draft.parts if p.hit >= 0])
    citations = [Citation.from_hit(n, passages[hit]) for hit, n in order.items()]
    answer = verified(turn, cited.render(lambda hit: order[hit]) if cited.parts else "", citations)
    if notes:
        # After a closing 「。[n]」 the notes start a sentence of their own; after 「…[n]。」 they go on it.
        lead = answer.text if answer.text.endswith("]") else (answer.text.rstrip("。") + "；" if answer.text else "")
        answer.text = lead + "；".join(notes) + "。"
    answer.confidence = draft.confidence
    return answer


def from_llm(turn: Turn, text: str, passages: list[Hit]) -> Answer | None:
    """The LLM's answer, renumbered and verified; None when it cites nothing (unverifiable)."""
    if text.lstrip("“\"「『 ").startswith(REFUSAL_PREFIX):
        return refusal(turn, "大模型判断段落中没有答案", passages)
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
    return verified(turn, text, citations)


def verified(turn: Turn, text: str, citations: list[Citation]) -> Answer:
    t0 = time.perf_counter()
    check = verify(text, {c.n: c.text for c in citations})
    turn.timings["verify_ms"] = (time.perf_counter() - t0) * 1000
    kept = [c for c in citations if c.n in check.cited] or citations
    return Answer(
        question=turn.question,
        text=check.text,
        refused=False,
        citations=kept,
        unsupported_figures=check.unsupported,
        condensed_question=turn.condensed_text,
    )
