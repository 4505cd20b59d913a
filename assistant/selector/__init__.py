"""The answer selector: which clause answers the question, and how sure that is.

Two small learned models over the general features of ``assistant.features``, trained on Chinese
reading-comprehension data (``assistant.selector.mrc``: CMRC 2018 trial, CC BY-SA 4.0; DRCD
dev/test, CC BY-SA 3.0) by ``python -m assistant.selector train``:

* the **ranker** (LightGBM LambdaRank) orders a question's candidate clauses; ``train --ensemble N``
  makes it the mean of N rankers of different seeds (one ships: five were no better, RESULTS.md);
* the **answerability** model (LightGBM, binary) reads the best clause's features and its lead
  over the others (``group_features``) and gives the probability that it answers — the
  no-answer score the refusal threshold is calibrated on;
* a **residual**: weights of features added after the ranker was trained (``RESIDUAL_FEATURES``),
  fitted with the ranker frozen (``train --residual-only``), added to its score where those
  features are known.  Where they are not (NaN), the scores are the ranker's own.

The weights are small files in ``assistant/data/selector/`` with the feature version they were
trained for; a mismatch is refused with the command that rebuilds them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.features import BASE_FEATURES, FEATURES, FEATURES_VERSION

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "data" / "selector"
RANKER_FILE = "ranker.txt"  # the first ranker; meta.json's "rankers" lists every file of the ensemble
ANSWERABILITY_FILE = "answerability.txt"
META_FILE = "meta.json"
GROUP_FEATURES = ("top_score", "top_margin", "top_share", "n_candidates", *BASE_FEATURES)
RETRAIN = "python -m assistant.selector train"


class SelectorError(RuntimeError):
    """The learned weights are missing or were trained for other features; the message says how to rebuild."""


@dataclass(frozen=True)
class SelectorInfo:
    version: str
    features_version: str
    trained: str


def softmax(scores: np.ndarray) -> np.ndarray:
    """Shares of a question's candidates (the ranker's scores are log-odds-like, not probabilities).

    >>> [round(float(x), 3) for x in softmax(np.array([2.0, 0.0, 0.0]))]
    [0.787, 0.107, 0.107]
    """
    if not len(scores):
        return scores
    e = np.exp(scores - scores.max())
    return e / e.sum()


def group_features(X: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The answerability model's input: the best candidate's score, its lead over the second, its
    share of the question's candidates, their number, and the best candidate's own features."""
    best = int(np.argmax(scores))
    second = np.partition(scores, -2)[-2] if len(scores) > 1 else scores[best] - 5.0
    head = np.array([scores[best], scores[best] - second, softmax(scores)[best], len(scores)], dtype=np.float32)
    return np.concatenate([head, X[best]]).astype(np.float32)[None, :]


def residual_scores(R: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The residual's correction per candidate: its features (NaN: unknown, no correction) times
    the weights.

    >>> residual_scores(np.array([[1.0, 0.0], [np.nan, np.nan], [1.0, 1.0]]), np.array([0.5, 0.25]))
    array([0.5 , 0.  , 0.75])
    """
    if not len(R) or not len(weights):
        return np.zeros(len(R))
    return np.nan_to_num(R, nan=0.0) @ weights


def ranker_path(directory: Path, k: int) -> Path:
    """File of the ``k``-th ranker of an ensemble: ranker.txt, ranker-1.txt, …"""
    return directory / (RANKER_FILE if k == 0 else RANKER_FILE.replace(".txt", f"-{k}.txt"))


class Selector:
    """``rank`` scores candidate rows (higher is better); ``confidence`` is the probability that the
    best of them answers."""

    def __init__(self, directory: Path = WEIGHTS_DIR) -> None:
        meta_path, first_ranker, answer_path = directory / META_FILE, directory / RANKER_FILE, directory / ANSWERABILITY_FILE
        if not (meta_path.exists() and first_ranker.exists() and answer_path.exists()):
            other = "" if Path(directory) == WEIGHTS_DIR else (
                f" --out {directory}, or unset BULLETIN_SELECTOR_DIR to answer with the shipped weights")
            raise SelectorError(f"no selector weights in {directory}: build them with {RETRAIN}{other}")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("features_version") != FEATURES_VERSION or meta.get("features") != list(FEATURES):
            raise SelectorError(
                f"the selector weights in {directory} were trained for {meta.get('features_version')!r}, "
                f"but this code computes {FEATURES_VERSION!r}: retrain them with {RETRAIN}"
            )
        import lightgbm

        self.info = SelectorInfo(meta["version"], meta["features_version"], meta.get("trained", ""))
        self.meta = meta
        paths = [directory / name for name in meta.get("rankers", [RANKER_FILE])]
        missing = [p.name for p in paths if not p.exists()]
        if missing:
            raise SelectorError(f"selector weights in {directory} lack {', '.join(missing)}: rebuild them with {RETRAIN}")
        self._rankers = [lightgbm.Booster(model_str=p.read_text(encoding="utf-8")) for p in paths]
        base = meta.get("base_features", list(FEATURES))
        residual = meta.get("residual") or {"features": [], "weights": []}
        unknown = [n for n in [*base, *residual["features"]] if n not in FEATURES]
        if unknown:
            raise SelectorError(f"the selector weights in {directory} read features this code lacks "
                                f"({', '.join(unknown)}): retrain them with {RETRAIN}")
        self._base = [FEATURES.index(n) for n in base]
        self._residual = [FEATURES.index(n) for n in residual["features"]]
        self._weights = np.asarray(residual["weights"], dtype=np.float64)
        self._answerability = lightgbm.Booster(model_str=answer_path.read_text(encoding="utf-8"))
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.info.version

    def rank(self, X: np.ndarray) -> np.ndarray:
        if not len(X):
            return np.zeros(0, dtype=np.float32)
        with self._lock:  # a Booster is not documented as thread-safe for predict
            base = np.mean([r.predict(X[:, self._base], num_threads=1) for r in self._rankers], axis=0)
        return (base + residual_scores(X[:, self._residual], self._weights)).astype(np.float32)

    def confidence(self, X: np.ndarray, scores: np.ndarray) -> float:
        """Probability that the best-scored of these candidates answers the question."""
        if not len(X):
            return 0.0
        with self._lock:
            return float(self._answerability.predict(group_features(X[:, self._base], scores), num_threads=1)[0])


@lru_cache(maxsize=2)
def default_selector(directory: Path = WEIGHTS_DIR) -> Selector:
    return Selector(directory)
