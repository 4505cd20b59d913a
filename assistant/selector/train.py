"""Training the answer selector: reading-comprehension questions through the product's own pipeline.

1. Every MRC paragraph becomes a file of a training corpus, indexed by the product's builder
   (the same chunker, encoder, annotations) into its own collection.
2. Every question is analysed and searched like a user's (hybrid retrieval, rerank, top 8).
   The candidates are the clauses of those passages, with the product's features.  A clause of
   the question's own paragraph that holds the gold answer is a positive; all others are negatives.
3. Half the questions (chosen by a hash) also give a group without their own paragraph: the
   best other passages, none of which holds the answer, so "no answer here" is learned too.
4. With fixed seeds, a LightGBM ranker (or ``--ensemble N`` of them, one seed each, scores
   averaged) learns to put the gold clause first among the clauses the answerer may quote (those
   meeting the constraints), and a second model learns from the ranker's best clause whether it
   answers (no-answer groups included).  Held-aside articles (15 %, split by article title)
   measure both.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from assistant import constraints
from assistant.extractive import gather, quote
from assistant.features import BASE_FEATURES, FEATURES, FEATURES_VERSION, RESIDUAL_FEATURES
from assistant.query import analyse
from assistant.retrieval import RetrievalConfig, Retrieved, Retriever
from assistant.selector import (
    ANSWERABILITY_FILE,
    GROUP_FEATURES,
    META_FILE,
    RANKER_FILE,
    WEIGHTS_DIR,
    SelectorError,
    group_features,
    ranker_path,
    residual_scores,
)
from assistant.selector.mrc import FILES, Paragraph, file_hashes, load, split_of
from index.builder import Builder
from index.cleaning import fold_width
from index.store import BulletinIndex
from settings import Settings

COLLECTION = "selector-mrc"
DEPTH = 8  # passages whose clauses are candidates: the answerer's depth
SEED = 20261201
PARAMS = {
    "learning_rate": 0.05,
    "num_leaves": 31,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": 2,
    "verbose": -1,
}
RANKER_PARAMS = {**PARAMS, "objective": "lambdarank", "metric": "ndcg", "eval_at": [1], "lambdarank_truncation_level": 10}
ANSWERABILITY_PARAMS = {**PARAMS, "objective": "binary", "num_leaves": 15}
ROUNDS = 400
ANSWERABILITY_ROUNDS = 200
# Rankers, seeds SEED, SEED+1, …, their mean score ranks (``--ensemble N``).  One ships: five were
# equal on held-aside articles (0.644 vs 0.639) and no better on the dev sets (RESULTS.md).
ENSEMBLE = 1
# Folds of training articles for the answerability model's cross-fitted ranker scores.
FOLDS = 5
# L2 penalty of the residual's weights (per group, on the mean log-likelihood).
RESIDUAL_L2 = 1e-3
_BASE = [FEATURES.index(n) for n in BASE_FEATURES]
_RESIDUAL = [FEATURES.index(n) for n in RESIDUAL_FEATURES]


class Ensemble:
    """The mean of several LightGBM rankers' scores over the base features, plus the residual's
    correction (what ``Selector.rank`` computes)."""

    def __init__(self, boosters: list, weights: np.ndarray | None = None) -> None:
        self.boosters = boosters
        self.weights = np.zeros(len(_RESIDUAL)) if weights is None else weights

    def base(self, X: np.ndarray, num_threads: int = 1) -> np.ndarray:
        return np.mean([b.predict(X[:, _BASE], num_threads=num_threads) for b in self.boosters], axis=0)

    def predict(self, X: np.ndarray, num_threads: int = 1) -> np.ndarray:
        return self.base(X, num_threads) + residual_scores(X[:, _RESIDUAL], self.weights)


def fit_residual(rows: list[tuple[np.ndarray, np.ndarray, np.ndarray]], l2: float = RESIDUAL_L2) -> np.ndarray:
    """Weights ``w`` of the residual features that, added to a frozen ranker's scores, maximise the
    mean log-probability of the gold clause, softmax(base + R·w)[gold], over groups (base scores,
    residual features with NaN as 0, 0/1 labels); an L2 penalty keeps them small.

    >>> base = np.zeros(2)
    >>> said, unsaid = np.array([[1.0], [0.0]]), np.array([[0.0], [1.0]])  # the gold clause (first) has it, or not
    >>> float(fit_residual([(base, said, np.array([1, 0]))] * 3 + [(base, unsaid, np.array([1, 0]))], l2=0.01)[0]) > 0.5
    True
    >>> abs(float(fit_residual([(base, said, np.array([1, 0])), (base, unsaid, np.array([1, 0]))], l2=0.01)[0])) < 1e-6
    True
    """
    from scipy.optimize import minimize

    k = rows[0][1].shape[1] if rows else len(_RESIDUAL)
    prepared = [(b.astype(np.float64), np.nan_to_num(R, nan=0.0).astype(np.float64), y.astype(bool)) for b, R, y in rows]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        total, grad = 0.0, np.zeros(k)
        for b, R, y in prepared:
            z = b + R @ w
            z = z - z.max()
            p = np.exp(z) / np.exp(z).sum()
            gold = p[y].sum()
            total -= np.log(max(gold, 1e-12))
            grad -= (p[y] / max(gold, 1e-12)) @ R[y] - p @ R
        n = max(len(prepared), 1)
        return total / n + l2 * float(w @ w), grad / n + 2 * l2 * w

    if not prepared:
        return np.zeros(k)
    return np.round(minimize(loss, np.zeros(k), jac=True, method="L-BFGS-B").x, 6)


def residual_rows(ranker: Ensemble, groups: list[Group]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(ranker's base scores, residual features, labels) of the answer groups whose gold clause is
    quotable and whose residual features are known somewhere (the others do not move)."""
    out = []
    for g in groups:
        X, y, _ = _valid(g)
        R = X[:, _RESIDUAL]
        if g.kind == "answer" and y.any() and np.isfinite(R).any():
            out.append((ranker.base(X), R, y))
    return out


@dataclass
class Group:
    qid: str
    split: str  # train | held
    kind: str  # answer | noanswer (other articles' passages) | near (passages without the answer, own article's too)
    answer: str
    X: np.ndarray
    y: np.ndarray
    quotes: list[str] = field(default_factory=list)  # what the answer would quote per candidate
    valid: np.ndarray | None = None  # candidates meeting every candidate-level constraint (what the answerer may quote)
    article: str = ""  # the split key (dataset family + title): cross-fitting folds keep an article together


def write_corpus(paragraphs: list[Paragraph], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for p in paragraphs:
        path = directory / f"{p.id}.txt"
        if not path.exists() or path.read_text(encoding="utf-8") != p.context:
            path.write_text(p.context, encoding="utf-8")


def _probe(answer: str) -> str:
    """What of a gold answer a clause must hold: its first clause, width-folded.

    >>> _probe("２０１８年，北京")
    '2018年'
    """
    probe = fold_width(answer)
    for mark in "，。；：！？":
        probe = probe.split(mark)[0] or probe
    return probe


def _labels(cands, passages, source: str, answer: str, start: int) -> np.ndarray:
    """1 for a clause of the question's own paragraph holding the gold answer at (about) its offset."""
    probe = _probe(answer)
    y = np.zeros(len(cands), dtype=np.float32)
    for i, c in enumerate(cands):
        chunk = passages[c.hit].hit.chunk
        if chunk.source != source:
            continue
        clause = chunk.text[c.start : c.end]
        at = clause.find(probe)
        if at < 0:
            continue
        where = chunk.start + c.start + at
        if chunk.article_index > 0 or abs(where - start) <= max(30, start // 10):
            y[i] = 1.0
    return y


def hit_groups(qid: str, hits: list, source: str, answer: str, near: bool = False) -> list[tuple[str, list]]:
    """The (kind, passages) groups one training question gives: its top passages ("answer"), and a
    no-answer group.  Half the questions (by a hash of the id) take other articles' passages
    ("noanswer": the paragraph is not in the corpus); with ``near`` the other half take
    the passages that do not hold the answer, their own article's other passages included ("near":
    the trap a user meets, a report on the asked subject that does not give what is asked).  A near
    group with no passage of its own article left would be a plain no-answer one and is not made.
    Near groups were tried and are not shipped: benchmarks/RESULTS.md (2026-12-06, near negatives).
    """
    out = [("answer", hits[:DEPTH])]
    if int(hashlib.sha1(qid.encode()).hexdigest()[:4], 16) % 2 == 0:
        out.append(("noanswer", [h for h in hits if h.chunk.source != source][:DEPTH]))
    elif near:
        probe = _probe(answer)
        without = [h for h in hits if probe not in fold_width(h.chunk.text)][:DEPTH]
        if any(h.chunk.source == source for h in without):
            out.append(("near", without))
    return out


def examples(settings: Settings, paragraphs: list[Paragraph], limit: int | None = None, show_progress: bool = True,
             near: bool = False) -> list[Group]:
    corpus = settings.data_dir / "selector-train" / "mrc-corpus"
    write_corpus(paragraphs, corpus)
    index = BulletinIndex(settings, collection=COLLECTION)
    Builder(index, show_progress=show_progress).build(corpus)
    retriever = Retriever(index, RetrievalConfig.from_settings(settings))
    terms = index.lexicon.entities
    questions = [(p, q) for p in paragraphs for q in p.questions]
    if limit:
        questions = questions[:limit]
    groups: list[Group] = []
    for p, q in tqdm(questions, desc="features", unit="q", file=sys.stderr, disable=not show_progress):
        analysis = analyse(q.question, terms)
        found = retriever.retrieve(analysis, DEPTH * 2)
        source = f"{p.id}.txt"
        split = split_of(p.article)
        for kind, hits in hit_groups(q.id, found.hits, source, q.answer, near):
            rules, candidate_rules = constraints.for_question(analysis, lambda term: False, index.article_text, index.lexicon)
            g = gather(index, analysis, Retrieved(hits, found.query_vector), DEPTH, rules)
            cands, passages, X = g.candidates, g.passages, g.features
            if not cands:
                continue
            y = _labels(cands, passages, source, q.answer, q.answer_start) if kind == "answer" else np.zeros(len(cands), np.float32)
            valid = np.array([not any(rule.candidate(passages[c.hit], c, passages[c.hit].hit.chunk.text[c.start : c.end],
                                                     passages[c.hit].hit.chunk.text[c.sent_start : c.sent_end])
                                      for rule in candidate_rules) for c in cands], dtype=bool)
            groups.append(Group(q.id, split, kind, q.answer, X, y, [quote(cands, passages, i) for i in range(len(cands))], valid,
                                p.article))
    return groups


def _valid(g: Group) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The candidates the answerer may quote (those meeting the candidate-level constraints)."""
    m = g.valid if g.valid is not None else np.ones(len(g.y), dtype=bool)
    return g.X[m], g.y[m], [q for q, keep in zip(g.quotes, m) if keep]


def fold_of(g: Group, folds: int = FOLDS) -> int:
    """The cross-fitting fold of a group: by its article, so no article is on both sides."""
    return int(hashlib.sha1(f"fold:{g.article or g.qid}".encode()).hexdigest()[:8], 16) % folds


def fit_ranker(groups: list[Group], ensemble: int = 1) -> Ensemble:
    """LightGBM LambdaRank ranker(s) over the groups whose gold clause is quotable."""
    import lightgbm

    ranked = [g for g in groups if g.kind == "answer" and _valid(g)[1].any()]
    X = np.vstack([_valid(g)[0] for g in ranked])
    y = np.concatenate([_valid(g)[1] for g in ranked])
    sizes = [len(_valid(g)[1]) for g in ranked]
    boosters = []
    for k in range(ensemble):
        data = lightgbm.Dataset(X[:, _BASE], label=y, group=sizes, feature_name=list(BASE_FEATURES))
        boosters.append(lightgbm.train({**RANKER_PARAMS, "seed": SEED + k}, data, num_boost_round=ROUNDS))
    return Ensemble(boosters)


def fit(groups: list[Group], ensemble: int = ENSEMBLE, folds: int = FOLDS, show_progress: bool = False,
        keep: tuple[list, object] | None = None):
    """(ranker ensemble with its residual, answerability model) from the training groups.

    The answerability model learns from the scores of rankers that did not see the group's
    article (``folds`` cross-fitting folds; 1: the final ranker's own scores, as before), and the
    residual's weights from the same scores.  ``keep``: (rankers, answerability model) already
    trained; only the residual is fitted (``--residual-only``)."""
    import lightgbm

    train = [g for g in groups if g.split == "train"]
    ranker = Ensemble(keep[0]) if keep else fit_ranker(train, ensemble)
    n = len(ranker.boosters)
    if folds > 1:
        # Each fold's ranker is built like the final one (an ensemble of as many), so its scores
        # spread as the final ranker's do.
        fold_rankers = [fit_ranker([g for g in train if fold_of(g, folds) != k], n)
                        for k in tqdm(range(folds), desc="cross-fitting", unit="fold", file=sys.stderr, disable=not show_progress)]
        held_out = [[g for g in train if fold_of(g, folds) == k] for k in range(folds)]
        weights = fit_residual([r for k in range(folds) for r in residual_rows(fold_rankers[k], held_out[k])])
        for r in fold_rankers:
            r.weights = weights
        parts = [answerability_rows(fold_rankers[k], held_out[k]) for k in range(folds)]
        F, L = np.vstack([f for f, _ in parts]), np.concatenate([lab for _, lab in parts])
    else:
        weights = fit_residual(residual_rows(ranker, train))
        F, L = answerability_rows(Ensemble(ranker.boosters, weights), train)
    ranker.weights = weights
    if keep:
        return ranker, keep[1]
    answerability = lightgbm.train(ANSWERABILITY_PARAMS, lightgbm.Dataset(F, label=L, feature_name=list(GROUP_FEATURES)),
                                   num_boost_round=ANSWERABILITY_ROUNDS)
    return ranker, answerability


def answerability_rows(ranker, groups: list[Group]) -> tuple[np.ndarray, np.ndarray]:
    """One row per group: the ranker's best candidate; label 1 when it is the gold clause."""
    rows, labels = [], []
    for g in groups:
        X, y, _ = _valid(g)
        if not len(y):
            continue
        scores = ranker.predict(X, num_threads=1)
        rows.append(group_features(X[:, _BASE], scores)[0])
        labels.append(float(y[int(np.argmax(scores))]) if g.kind == "answer" else 0.0)  # noanswer, near: 0
    return np.array(rows, dtype=np.float32).reshape(-1, len(GROUP_FEATURES)), np.array(labels, dtype=np.float32)


def _auc(pos: list[float], neg: list[float]) -> float | None:
    if not pos or not neg:
        return None
    neg_sorted = np.sort(np.asarray(neg))
    left = np.searchsorted(neg_sorted, pos, side="left")
    right = np.searchsorted(neg_sorted, pos, side="right")
    return float((left + 0.5 * (right - left)).sum() / (len(pos) * len(neg)))


def evaluate(models, groups: list[Group], split: str = "held") -> dict:
    """Clause accuracy where the gold clause is among the quotable candidates, how often the quote
    holds the answer, and how well the answerability score separates right answers from the rest."""
    ranker, answerability = models
    col = {n: i for i, n in enumerate(FEATURES)}
    answer = [g for g in groups if g.split == split and g.kind == "answer"]
    noans = [g for g in groups if g.split == split and g.kind == "noanswer"]
    near = [g for g in groups if g.split == split and g.kind == "near"]
    with_gold = [g for g in answer if _valid(g)[1].any()]
    out: dict = {"questions": len(answer), "gold_among_candidates": round(len(with_gold) / max(len(answer), 1), 4)}
    scorers = {"selector": lambda X: ranker.predict(X, num_threads=1),
               "ranker without the residual": lambda X: ranker.base(X, num_threads=1),
               "e5_clause only": lambda X: np.nan_to_num(X[:, col["e5_clause"]], nan=-1.0),
               "cov_clause only": lambda X: X[:, col["cov_clause"]] + 0.01 * X[:, col["cov_sent"]]}
    for name, scorer in scorers.items():
        correct = contains = 0
        for g in with_gold:
            X, y, quotes = _valid(g)
            best = int(np.argmax(scorer(X)))
            correct += bool(y[best])
            contains += fold_width(g.answer) in quotes[best]
        out[name] = {"clause_accuracy": round(correct / max(len(with_gold), 1), 4),
                     "quote_holds_answer": round(contains / max(len(with_gold), 1), 4)}

    def confidences(gs: list[Group]) -> tuple[np.ndarray, np.ndarray]:
        F, L = answerability_rows(ranker, gs)
        return (answerability.predict(F, num_threads=1) if len(F) else np.zeros(0)), L

    p, labels = confidences([g for g in groups if g.split == split])
    auc = _auc(list(p[labels == 1]), list(p[labels == 0]))
    out["answerability_auc"] = None if auc is None else round(auc, 4)
    p_yes, _ = confidences(with_gold)
    p_no, _ = confidences(noans)
    auc = _auc(list(p_yes), list(p_no))
    out["no_answer_auc"] = None if auc is None else round(auc, 4)
    out["noanswer_groups"] = len(noans)
    if near:  # the harder no-answer groups: the question's own article without the answer
        p_near, _ = confidences(near)
        auc = _auc(list(p_yes), list(p_near))
        out["near_no_answer_auc"] = None if auc is None else round(auc, 4)
        out["near_groups"] = len(near)
    return out


def cached_examples(settings: Settings, paragraphs: list[Paragraph], limit: int | None, cache: Path | None,
                    show_progress: bool = True, near: bool = False) -> list[Group]:
    """``examples``, or the groups a previous run saved to ``cache`` (a developer's shortcut when only
    the learner changes; shipped weights are trained without it)."""
    import pickle

    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())
    groups = examples(settings, paragraphs, limit=limit, show_progress=show_progress, near=near)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(groups))
    return groups


def load_base(directory: Path) -> tuple[tuple[list, object], dict]:
    """((rankers, answerability model), meta) of weights trained for ``BASE_FEATURES``, for a
    residual-only fit on top of them."""
    import lightgbm

    if not (directory / META_FILE).exists():
        raise SelectorError(f"no selector weights in {directory} to fit a residual on")
    meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
    if meta.get("base_features", meta.get("features")) != list(BASE_FEATURES):
        raise SelectorError(f"the weights in {directory} were not trained for this code's base features "
                            f"({len(BASE_FEATURES)} of {FEATURES_VERSION}): train them in full with "
                            "python -m assistant.selector train")
    rankers = [lightgbm.Booster(model_str=(directory / name).read_text(encoding="utf-8"))
               for name in meta.get("rankers", [RANKER_FILE])]
    answerability = lightgbm.Booster(model_str=(directory / ANSWERABILITY_FILE).read_text(encoding="utf-8"))
    return (rankers, answerability), meta


def train(settings: Settings, out_dir: Path = WEIGHTS_DIR, limit: int | None = None, show_progress: bool = True,
          cache: Path | None = None, ensemble: int = ENSEMBLE, folds: int = FOLDS, near: bool = False,
          residual_on: Path | None = None) -> dict:
    """Train the selector and write its weights to ``out_dir``; with ``residual_on``, keep the
    rankers and answerability model found there and fit only the residual's weights."""
    started = time.time()
    keep, base_meta = load_base(residual_on) if residual_on else (None, {})
    paragraphs = load()
    groups = cached_examples(settings, paragraphs, limit, cache, show_progress, near)
    models = fit(groups, len(keep[0]) if keep else ensemble, folds, show_progress, keep=keep)
    held = evaluate(models, groups, "held")
    train_scores = evaluate(models, groups, "train")
    ranker_texts = [b.model_to_string() for b in models[0].boosters]
    answerability_text = models[1].model_to_string()
    residual = {"features": list(RESIDUAL_FEATURES), "weights": [float(w) for w in models[0].weights]}
    digest = hashlib.sha1(("".join(ranker_texts) + answerability_text + json.dumps(residual)).encode("utf-8")).hexdigest()[:12]
    import lightgbm

    meta = {
        "version": f"selector/{digest}",
        "features_version": FEATURES_VERSION,
        "features": list(FEATURES),
        "base_features": list(BASE_FEATURES),
        "residual": residual,
        "trained": time.strftime("%Y-%m-%d %H:%M:%S"),
        "seconds": round(time.time() - started, 1),
        "command": "python -m assistant.selector train" + (f" --limit {limit}" if limit else "")
                   + (f" --ensemble {ensemble}" if ensemble != 1 else "") + (f" --folds {folds}" if folds != FOLDS else "") + (" --near-negatives" if near else ""),
        "seed": SEED,
        "answerability_folds": folds,
        "rounds": {"ranker": ROUNDS, "answerability": ANSWERABILITY_ROUNDS},
        "rankers": [ranker_path(out_dir, k).name for k in range(len(ranker_texts))],
        "ranker_seeds": [SEED + k for k in range(len(ranker_texts))],
        "params": {"ranker": RANKER_PARAMS, "answerability": ANSWERABILITY_PARAMS},
        "group_features": list(GROUP_FEATURES),
        "lightgbm": lightgbm.__version__,
        "embed_model": settings.embed_model,
        "embed_backend": settings.embed_backend,
        "data": {name: {"sha256_16": h, "licence": FILES[name][2], "what": FILES[name][3]} for name, h in file_hashes().items()},
        "licences": "Derived from CMRC 2018 (CC BY-SA 4.0) and DRCD (CC BY-SA 3.0); these weights are shared alike.",
        "split": "by article title, sha1(title) % 100 < 15 held aside",
        "groups": {"train": sum(g.split == "train" for g in groups), "held": sum(g.split == "held" for g in groups)},
        "rows": int(sum(len(g.y) for g in groups)),
        "held_aside": held,
        "train": train_scores,
    }
    if keep:
        # The rankers and answerability model are the base's: say where they came from.
        meta.update({k: base_meta[k] for k in ("seed", "rounds", "ranker_seeds", "params", "lightgbm") if k in base_meta})
        # Refitting a residual on weights that already have one keeps naming the ranker's own run.
        base = base_meta.get("base") or {k: base_meta.get(k) for k in ("version", "features_version", "trained", "command", "held_aside")}
        meta["command"] = f"python -m assistant.selector train --residual-only (on {base['version']})"
        meta["base"] = base
    out_dir.mkdir(parents=True, exist_ok=True)
    for k, text in enumerate(ranker_texts):
        ranker_path(out_dir, k).write_text(text, encoding="utf-8")
    (out_dir / ANSWERABILITY_FILE).write_text(answerability_text, encoding="utf-8")
    (out_dir / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return meta
