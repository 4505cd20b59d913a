"""The answer selector: a learned model that scores how likely a clause answers a question.

Gradient-boosted trees (LightGBM) over the general features of ``assistant.features``, trained
on Chinese reading-comprehension data (``assistant.selector.mrc``: CMRC 2018 trial, CC BY-SA
4.0; DRCD dev/test, CC BY-SA 3.0) by ``python -m assistant.selector train``.  The weights are
small files in ``assistant/data/selector/`` with the feature version they were trained for; a
mismatch is refused with the command that rebuilds them.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from assistant.features import FEATURES, FEATURES_VERSION

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "data" / "selector"
MODEL_FILE = "model.txt"
META_FILE = "meta.json"
RETRAIN = "python -m assistant.selector train"


class SelectorError(RuntimeError):
    """The learned weights are missing or were trained for other features; the message says how to rebuild."""


@dataclass(frozen=True)
class SelectorInfo:
    version: str
    features_version: str
    trained: str


class Selector:
    """Scores candidate feature rows; ``score`` returns probabilities in [0, 1]."""

    def __init__(self, directory: Path = WEIGHTS_DIR) -> None:
        meta_path, model_path = directory / META_FILE, directory / MODEL_FILE
        if not meta_path.exists() or not model_path.exists():
            raise SelectorError(f"no selector weights in {directory}: build them with {RETRAIN}")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("features_version") != FEATURES_VERSION or meta.get("features") != list(FEATURES):
            raise SelectorError(
                f"the selector weights in {directory} were trained for {meta.get('features_version')!r}, "
                f"but this code computes {FEATURES_VERSION!r}: retrain them with {RETRAIN}"
            )
        import lightgbm

        self.info = SelectorInfo(meta["version"], meta["features_version"], meta.get("trained", ""))
        self.meta = meta
        self._booster = lightgbm.Booster(model_str=model_path.read_text(encoding="utf-8"))
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        return self.info.version

    def score(self, X: np.ndarray) -> np.ndarray:
        if not len(X):
            return np.zeros(0, dtype=np.float32)
        with self._lock:  # a Booster is not documented as thread-safe for predict
            return np.asarray(self._booster.predict(X, num_threads=1), dtype=np.float32)


@lru_cache(maxsize=2)
def default_selector(directory: Path = WEIGHTS_DIR) -> Selector:
    return Selector(directory)
