"""The multi-issue corpus: what a report is about (text written here), and, when ../shared is
present, a corpus with a metric reported on two dates."""

from __future__ import annotations

from pathlib import Path

import pytest

from evals.multi_issue import NEWS, ZONE_DEV, repeated_metrics, subjects


def test_a_report_is_about_the_zones_it_names_else_its_first_county_or_city() -> None:
    assert subjects("眉县经开区召开签约大会，宝鸡市领导出席。") == ["眉县经开区"]
    assert subjects("宝鸡市眉县召开签约大会。") == ["宝鸡市"]
    assert subjects("会议召开。") == []


def test_repeated_metrics_need_two_documents_of_two_dates(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("2023-07-02 10:00，正文：武汉经开区整车产能达到150万辆。", encoding="utf-8")
    (tmp_path / "b.txt").write_text("2023-08-14 09:00，正文：武汉经开区整车产能达到160万辆。", encoding="utf-8")
    (tmp_path / "c.txt").write_text("2023-08-14 09:00，正文：武汉经开区新能源汽车销量20万辆。", encoding="utf-8")
    repeated, months = repeated_metrics(tmp_path)
    assert repeated == [("武汉经开区", "整车产能", ["2023-07-02", "2023-08-14"])]
    assert months == {"2023-07": 1, "2023-08": 2}


@pytest.mark.integration
def test_the_shared_corpus_has_a_metric_reported_on_two_dates(tmp_path: Path) -> None:
    if not ZONE_DEV.is_dir() or not NEWS.is_dir():
        pytest.skip(f"needs ../shared/eval-data (zone-dev and crud-news) at {ZONE_DEV.parent.parent}")
    from evals.multi_issue import assemble

    counts = assemble(tmp_path / "corpus", per_zone=2)
    assert counts["zone-dev"] == 28 and counts["news"] > 0
    repeated, _ = repeated_metrics(tmp_path / "corpus")
    assert repeated, "no metric of one entity is reported by two documents of different dates"
