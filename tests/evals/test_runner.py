"""``evals.runner.evaluate`` on a small question file over the seed corpus (fake embedder, tmp data dir)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.verify import normalise
from evals.datasets import DatasetError, load_questions, resolve
from evals.runner import CONFIG_NAMES, PRIMARY, _slug, evaluate, retrieval_config
from index.store import BulletinIndex
from tests.conftest import ROOT, SEED, make_settings

PICK = ("bq-004", "bq-064", "bq-065", "bq-072", "bq-073", "bq-075", "bq-095", "bq-143", "bq-163")
DATASET = {json.loads(line)["id"]: json.loads(line)
           for line in (ROOT / "evals/datasets/bulletins_qa.jsonl").read_text(encoding="utf-8").splitlines()}
RATES = ("R@1", "R@5", "R@10", "MRR@10", "answer_hit@5", "fact_accuracy", "all_facts_accuracy", "citation_support",
         "unsupported_figure_rate", "refusal_precision", "refusal_recall", "refusal_f1")
RUN_KEYS = {"id", "retrieved", "answer", "refused", "citations", "confidence"}


def write_questions(path: Path, ids: tuple[str, ...] = PICK) -> Path:
    path.write_text("".join(json.dumps(DATASET[i], ensure_ascii=False) + "\n" for i in ids), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """All five configurations over nine questions, with a --run-out file."""
    tmp = tmp_path_factory.mktemp("eval-run")
    settings = make_settings(tmp / "data")
    dataset = resolve(str(write_questions(tmp / "small.jsonl")))
    data = evaluate(settings, dataset, list(CONFIG_NAMES), run_out=tmp / "out" / "run.jsonl", show_progress=False)
    return {"tmp": tmp, "settings": settings, "dataset": dataset, "data": data}


def test_report_data_describes_the_run(small: dict) -> None:
    data = small["data"]
    assert data["dataset"] == "small" and data["n_questions"] == len(PICK)
    assert data["configs"] == list(CONFIG_NAMES) and data["primary"] == PRIMARY
    assert data["embed_model"] == "hashing" and data["corpus"] == str(ROOT / "corpus")
    assert set(data["results"]) == set(CONFIG_NAMES)


@pytest.mark.parametrize("config", CONFIG_NAMES)
def test_metrics_are_present_for_every_config(small: dict, config: str) -> None:
    result = small["data"]["results"][config]
    metrics = result["metrics"]
    assert metrics["n_questions"] == len(PICK) and metrics["n_unanswerable"] == 2 and metrics["n_answerable"] == 7
    for key in RATES:
        assert metrics[key] is not None and 0.0 <= metrics[key] <= 1.0, (config, key, metrics.get(key))
    assert any(k.startswith("latency.") for k in metrics)
    assert [row["id"] for row in result["rows"]] == sorted(PICK)
    assert isinstance(result["failures"], list) and len(result["failures"]) <= 15


def test_the_product_config_answers_this_small_set(small: dict) -> None:
    metrics = small["data"]["results"][PRIMARY]["metrics"]
    assert metrics["fact_accuracy"] >= 0.8 and metrics["refusal_recall"] == 1.0 and metrics["unsupported_figure_rate"] == 0.0


def test_run_out_has_one_line_per_question_with_the_run_fields(small: dict) -> None:
    lines = (small["tmp"] / "out" / "run.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == list(PICK)  # question order
    index = BulletinIndex(small["settings"], collection=_slug(small["dataset"].corpus))
    for record in records:
        assert set(record) == RUN_KEYS
        assert 1 <= len(record["retrieved"]) <= 10 and all(cid in index.chunks for cid in record["retrieved"])
        assert isinstance(record["refused"], bool) and isinstance(record["answer"], str)
        for c in record["citations"]:
            assert set(c) == {"n", "chunk_id", "text"} and index.chunks[c["chunk_id"]].text == c["text"]
        assert (record["citations"] == []) == record["refused"]


def test_run_out_is_the_primary_config(small: dict) -> None:
    rows = {r["id"]: r for r in small["data"]["results"][PRIMARY]["rows"]}
    for line in (small["tmp"] / "out" / "run.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert rows[record["id"]]["got"] == record["answer"]
        assert rows[record["id"]]["citations"] == [c["chunk_id"] for c in record["citations"]]


def test_naive_langchain_builds_its_own_collection(small: dict) -> None:
    settings, dataset = small["settings"], small["dataset"]
    ours = BulletinIndex(settings, collection=_slug(dataset.corpus))
    naive = BulletinIndex(settings, collection=_slug(dataset.corpus, "naive-1000-200"))
    assert naive.collection != ours.collection != settings.collection
    assert naive.chunks and set(naive.chunks).isdisjoint(ours.chunks)
    assert all(cid.startswith(f"{SEED.name}#") for cid in naive.chunks)
    assert all(len(c.text) <= 1000 for c in naive.chunks.values())
    assert max(len(c.text) for c in naive.chunks.values()) > 2 * max(len(c.text) for c in ours.chunks.values())
    rows = small["data"]["results"]["naive-langchain"]["rows"]
    cited = [cid for r in rows for cid in r["citations"]]
    assert cited and all(cid in naive.chunks for cid in cited)
    # The settings' own collection is never touched by evals.
    assert not BulletinIndex(settings).is_built()


def test_retrieval_configs() -> None:
    settings = make_settings(Path("/nonexistent"))
    assert {n: (retrieval_config(n, settings).mode, retrieval_config(n, settings).rerank) for n in CONFIG_NAMES} == {
        "dense": ("dense", "none"), "bm25": ("bm25", "none"), "hybrid-rrf": ("hybrid", "none"), "hybrid": ("hybrid", "none"),
        "hybrid+rerank": ("hybrid", "heuristic"), "naive-langchain": ("dense", "none")}


# --- a jsonl passage corpus -----------------------------------------------------------------------
def test_a_jsonl_passage_corpus_keeps_its_ids_in_retrieved(tmp_path: Path) -> None:
    # Paragraphs of the seed bulletin, lines joined and figures de-spaced (as the bulletin chunker does).
    paragraphs = [normalise(p.replace("\n", "")) for p in SEED.read_text(encoding="utf-8").split("\n\n") if p.strip()]
    passages = tmp_path / "passages.jsonl"
    ids = [f"doc-{i:03d}" for i in range(len(paragraphs))]
    passages.write_text("".join(json.dumps({"id": i, "text": t}, ensure_ascii=False) + "\n" for i, t in zip(ids, paragraphs, strict=True)),
                        encoding="utf-8")
    questions = write_questions(tmp_path / "q.jsonl", ("bq-064", "bq-072", "bq-100", "bq-163"))
    dataset = resolve(str(questions), corpus=passages)
    assert dataset.corpus_is_passages
    out = tmp_path / "run.jsonl"
    data = evaluate(make_settings(tmp_path / "data"), dataset, ["bm25"], run_out=out, show_progress=False)
    assert data["primary"] == "bm25"  # without the product config, the first one is written
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 4
    for record in records:
        assert record["retrieved"] and set(record["retrieved"]) <= set(ids)
        assert all(c["chunk_id"] in ids for c in record["citations"])
    assert "24.07" not in records[0]["answer"] and "162.33亿元" in records[0]["answer"]


# --- question files ---------------------------------------------------------------------------------
def test_load_questions_fills_defaults_and_rejects_bad_files(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": 1, "question": "吕梁？"}\n\n{"id": "b", "question": "太原？", "answers": [["9条"]]}\n', encoding="utf-8")
    q = load_questions(path)
    assert [x["id"] for x in q] == ["1", "b"] and q[0]["answers"] == [] and q[0]["unanswerable"] is False
    assert q[0]["history"] == [] and q[0]["gold"] == []
    for text, message in (('{"id": 1, "question": "a"}\n{"id": 1, "question": "b"}\n', "duplicate"),
                          ("not json\n", "not JSON"), ('{"question": "no id"}\n', "'id'"), ("\n\n", "no questions")):
        path.write_text(text, encoding="utf-8")
        with pytest.raises(DatasetError, match=message):
            load_questions(path)
