"""Calibrating the refusal threshold (``BULLETIN_REFUSE_BELOW``) on several dev sets at once.

Each dataset is answered once with no threshold; every answer records the selector's score of
the clause it quotes.  Refusing below τ is then simulated for every τ: an answer below τ turns
into a refusal.  The chosen τ maximises the mean over the datasets of
``(facts found on answerable questions + traps refused) / questions``, so no set is tuned for
at another's expense.  Pure functions over run records, like ``evals.metrics``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evals import metrics


def simulate(question: Mapping[str, Any], record: Mapping[str, Any], tau: float) -> tuple[float, bool]:
    """(score of the question, refused?) if answers scoring below ``tau`` were refused.

    The score is the fact accuracy of an answerable question, 1/0 for a trap refused or not.

    >>> q = {"answers": [["9条"]], "unanswerable": False}
    >>> simulate(q, {"answer": "9条", "refused": False, "confidence": 0.4}, 0.3), simulate(q, {"answer": "9条", "refused": False, "confidence": 0.2}, 0.3)
    ((1.0, False), (0.0, True))
    >>> simulate({"unanswerable": True}, {"answer": "x", "refused": False, "confidence": 0.2}, 0.3)
    (1.0, True)
    """
    conf = record.get("confidence")
    refused = bool(record.get("refused")) or (conf is not None and conf < tau)
    if question.get("unanswerable"):
        return float(refused), refused
    if refused:
        return 0.0, True
    return float(metrics.fact_accuracy(question, record) or 0.0), False


def sweep(datasets: Mapping[str, tuple[Sequence[Mapping[str, Any]], Mapping[str, Mapping[str, Any]]]],
          taus: Sequence[float]) -> list[dict[str, Any]]:
    """One row per τ: per-dataset score, false refusals, traps refused, and the mean score."""
    rows = []
    for tau in taus:
        row: dict[str, Any] = {"tau": round(tau, 3)}
        scores = []
        for name, (questions, run) in datasets.items():
            total = false_refusals = traps = traps_refused = 0.0
            for q in questions:
                record = run.get(str(q["id"]))
                if record is None:
                    continue
                score, refused = simulate(q, record, tau)
                total += score
                if q.get("unanswerable"):
                    traps += 1
                    traps_refused += refused
                elif refused:
                    false_refusals += 1
            n = max(len(questions), 1)
            row[name] = {"score": round(total / n, 4), "false_refusals": int(false_refusals),
                         "traps_refused": f"{int(traps_refused)}/{int(traps)}"}
            scores.append(total / n)
        row["mean"] = round(sum(scores) / max(len(scores), 1), 4)
        rows.append(row)
    return rows


TIE = 0.002  # means this close are a tie: the simpler setting wins


def best(rows: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    """The row with the highest mean; rows within ``TIE`` of it count as ties, and among them the
    lowest support weight, then the lowest τ (fewest refusals) wins.

    >>> best([{"tau": 0.1, "support_weight": 0.2, "mean": 0.8452}, {"tau": 0.06, "support_weight": 0.1, "mean": 0.8451}])
    {'tau': 0.06, 'support_weight': 0.1, 'mean': 0.8451}
    """
    top = max(r["mean"] for r in rows)
    return min((r for r in rows if r["mean"] >= top - TIE), key=lambda r: (r.get("support_weight", 0.0), r["tau"]))
