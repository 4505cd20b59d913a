"""The figure table: rows from text written here, kept in step with the chunks by the catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.builder import Builder
from index.figure_table import figure_rows
from index.store import BulletinIndex
from tests.conftest import make_settings
from tests.index._support import assert_figures_match


def cells(text: str, city: str = "") -> list[tuple[str, str, str, str, str]]:
    return [(r.entity, r.metric, r.value, r.unit, r.period) for r in figure_rows(text, city=city)]


def test_metric_is_the_phrase_before_the_figure_without_link_words() -> None:
    assert cells("本次“三个一批”活动，签约项目12个，签约投资额24.07亿元。", city="吕梁市") == [
        ("吕梁市", "签约项目", "12", "个", ""), ("吕梁市", "签约投资额", "24.07亿", "元", "")]
    assert cells("2024年一季度，规上工业增加值完成162.33亿元。")[0][1:] == ("规上工业增加值", "162.33亿", "元", "2024年一季度")


def test_a_change_takes_the_metric_before_it_and_an_amount_the_count_before_it() -> None:
    rows = cells("上半年，进出口总额实现56.3亿元，同比增长－2.6％；开工项目12个，总投资12.12亿元。")
    assert [r[1] for r in rows] == ["进出口总额", "进出口总额同比增长", "开工项目", "开工项目总投资"]
    assert rows[1][2:4] == ("-2.6", "%")  # full-width minus and per cent, folded


def test_entity_is_the_nearest_place_or_zone_before_the_figure_else_the_city() -> None:
    text = "2023年上半年，萧山经济技术开发区实现规上工业总产值1200亿元。太原市签约项目8个。新增就业岗位300个。"
    # The third sentence names no place: the passage is still about 太原市.
    assert [r.entity for r in figure_rows(text, city="吕梁市")] == ["萧山经济技术开发区", "太原市", "太原市"]
    assert [r.entity for r in figure_rows("新增就业岗位300个。", city="吕梁市")] == ["吕梁市"]


def test_years_dates_ranks_and_mixed_units() -> None:
    rows = cells("2023年7月11日，晶科能源56GW组件基地投产，位列第21名，年产值超100亿元。")
    assert [(r[2], r[3]) for r in rows] == [("56", "GW"), ("100亿", "元")]


@pytest.fixture
def built(tmp_path: Path) -> tuple[BulletinIndex, Path]:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("吕梁市开发区工作简报\n2024年5月20日\n吕梁市本次签约项目12个，签约投资额24.07亿元。\n", encoding="utf-8")
    (corpus / "b.txt").write_text("太原市开发区工作简报\n2024年6月18日\n太原市本次签约项目20个，签约投资额56亿元。\n", encoding="utf-8")
    index = BulletinIndex(make_settings(tmp_path / "data", corpus_dir=corpus))
    Builder(index, show_progress=False).build(corpus)
    return index, corpus


def test_build_writes_the_rows_and_a_rebuild_keeps_them_in_step(built) -> None:
    index, corpus = built
    rows, total = index.figures(metric="签约投资额")
    assert total == 2 and [r.text for r in rows] == ["24.07亿元", "56亿元"]  # date order
    assert [r.text for r in index.figures(place="吕梁市")[0]] == ["12个", "24.07亿元"]
    assert index.figures(place="太原市", date_from="2024-06")[1] == 2 and index.figures(date_to="2024-05")[1] == 2
    assert_figures_match(index)
    (corpus / "a.txt").write_text("吕梁市开发区工作简报\n2024年5月20日\n吕梁市签约投资额30亿元。\n", encoding="utf-8")
    (corpus / "b.txt").unlink()
    Builder(index, show_progress=False).build(corpus)
    assert [r.text for r in index.figures()[0]] == ["30亿元"]
    assert_figures_match(index)


def test_another_extractor_version_re_extracts_on_the_next_build(built, monkeypatch) -> None:
    index, corpus = built
    index.catalog._db.execute("DELETE FROM figures")
    index.catalog._db.execute("UPDATE meta SET value = 'figures/0' WHERE key = 'figures'")
    index.catalog._db.commit()
    assert not index.catalog.figures_current()
    report = Builder(index, show_progress=False).build(corpus)
    assert any("figure table re-extracted" in w for w in report.warnings)
    assert index.catalog.figures_current() and index.figures()[1] == 4
    assert_figures_match(index)


def test_cli_lists_filters_and_writes_csv(built, capsys) -> None:
    import argparse
    import csv
    import io

    from index.cli import _figures

    index, _ = built
    args = argparse.Namespace(place="太原市", metric="", date_from="", date_to="", limit=200, csv=True, json=False)
    _figures(index, args)
    out = capsys.readouterr().out
    assert out.startswith("\ufeff")  # Excel opens UTF-8 CSV with a BOM
    rows = list(csv.DictReader(io.StringIO(out[1:])))
    assert [(r["entity"], r["metric"], r["text"], r["date"]) for r in rows] == [
        ("太原市", "签约项目", "20个", "2024-06-18"), ("太原市", "签约投资额", "56亿元", "2024-06-18")]
    _figures(index, argparse.Namespace(**{**vars(args), "csv": False, "limit": 1}))
    captured = capsys.readouterr()
    assert "签约项目" in captured.out and "1 of 2 rows (raise --limit for more)" in captured.err


def test_ranks_names_and_the_article_zone() -> None:
    rows = figure_rows("共有44家企业上榜，进入前100名的还有甲公司（21位），7家世界500强企业，8个3A级景区。")
    assert [r.text for r in rows] == ["44家", "7家", "8个"]  # no 前100名, （21位）, 500强, 3A级
    no_place = figure_rows("户用光伏还需完成380户。", city="上海市", subject="上海湾区高新技术产业开发区")
    assert no_place[0].entity == "上海湾区高新技术产业开发区"  # the zone the article's title names


def test_an_anaphor_refers_to_the_zone_and_a_dateline_is_no_period() -> None:
    text = ("中新网广东新闻7月28日电 记者从广州开发区知识产权局获悉，该区在近日颁发的中国专利奖中共获62项奖项，"
            "位列广州市首位。目前该区已累计获得248项中国专利奖。")
    rows = {r.text: r for r in figure_rows(text, city="广州市")}
    assert rows["62项"].entity == "广州开发区" and rows["62项"].period == ""  # 7月28日电 dates the report
    # The city named in between is not what 「该区」 means.
    assert rows["248项"].entity == "广州开发区"


def test_a_comparison_base_is_no_period_and_a_sentence_period_holds_after_a_semicolon() -> None:
    rows = {r.text: r for r in figure_rows(
        "今年上半年，货物吞吐量达500万吨，比上年同期增长30%；集装箱吞吐量完成4000标箱，同比增长120%。", city="周口市")}
    assert rows["30%"].period == "今年上半年" and rows["30%"].metric == "货物吞吐量同期增长"  # 上年 is the base
    assert rows["120%"].period == "今年上半年" and rows["120%"].metric == "集装箱吞吐量同比增长"


def test_an_anaphor_names_its_level_and_the_article_stands_in_when_the_passage_has_none() -> None:
    text = "某公司增资1亿美元，扩大在青浦的业务。今年1至5月，全市新设外资企业200家。"
    assert [r.entity for r in figure_rows(text, subject="上海市")][1] == "上海市"  # not 青浦区
    text = "上海市举行签约仪式，扩大在青浦的业务。全市新设外资企业200家。"
    assert figure_rows(text)[0].entity == "上海市"


def test_a_sentence_naming_no_place_is_about_the_figure_before_it() -> None:
    rows = figure_rows("在农安县，长春某集团项目投产。上半年，全省共实施项目1900个，投资增长8%。"
                       "其中：亿元以上项目1300个，投资增长9.5%；10亿元以上项目230个，投资增长20%。", subject="吉林省")
    by = {r.text: r for r in rows}
    assert {by[t].entity for t in ("1300个", "9.5%", "20%")} == {"吉林省"}
    # A figure before 以上 and a noun names a class; a change after a count is the count's.
    assert by["20%"].metric == "10亿元以上项目投资增长" and "10亿元" not in by


def test_a_verb_before_one_word_stays_in_the_metric_and_zhongyou_is_no_metric() -> None:
    rows = {r.text: r for r in figure_rows("去年某新区重点项目完成投资1400亿元。此次获奖的60项中有专利银奖2项。")}
    assert rows["1400亿元"].metric == "完成投资" and rows["2项"].metric == "专利银奖"


def test_a_bare_noun_after_a_count_takes_its_short_predicate() -> None:
    """「4家企业在国赛中获奖」: 企业 alone names no metric; the predicate closing the clause says which
    ones are counted.  A longer run after the figure (「79家企业参加…」) is already a metric."""
    rows = {r.text: r for r in figure_rows("2022年某高新区组织79家企业参加大赛，其中4家企业在国赛中获奖、11家企业在省赛中获奖。")}
    assert rows["4家"].metric == "企业在国赛中获奖" and rows["11家"].metric == "企业在省赛中获奖"


def test_a_zone_written_right_after_another_place_is_one_entity() -> None:
    rows = figure_rows("在十堰经开区龙门工业园的停车场，这款微公交包括5个毫米波雷达。")
    assert rows[0].entity == "十堰经开区龙门工业园" and rows[0].metric == "毫米波雷达"


def test_a_currency_word_a_name_with_a_number_and_a_trailing_zhong_are_no_part_of_the_metric() -> None:
    rows = {r.text: r for r in figure_rows("去年朝阳区营业收入超1100亿元人民币。新区引进7家世界500强企业。入选的44家企业中，16家属于重点产业。")}
    assert rows["1100亿元"].metric == "营业收入"
    assert rows["7家"].metric.startswith("世界500强企业")
    assert rows["44家"].metric == "企业"


def test_the_country_is_an_entity_when_a_clause_opens_with_it_not_when_it_qualifies_a_name() -> None:
    rows = {r.text: r for r in figure_rows("截至6月末，我国高技术制造业中长期贷款余额2.5万亿元。某高新区作为全国676个试点之一。")}
    assert rows["2.5万亿元"].entity == "全国" and rows["676个"].entity == "全国"  # 我国 and 全国: one entity
    rows = {r.text: r for r in figure_rows("沈阳高新区组织79家企业参加全国创新创业大赛，其中4家企业在国赛中获奖。")}
    assert rows["4家"].entity == "沈阳高新区"


def test_a_verb_noun_compound_a_quoted_name_and_a_discourse_word_after_a_figure() -> None:
    rows = {r.text: r for r in figure_rows("出台11项保障措施。新培育3家“百亿”人力资源服务机构。去年服务机构达1500家据介绍，另有2家。")}
    assert rows["11项"].metric == "保障措施"
    assert rows["3家"].metric == "百亿人力资源服务机构"
    assert rows["1500家"].metric == "服务机构"  # 据介绍 opens the next sentence (jieba tags it a noun)


def test_substring_filters_find_the_same_rows_through_the_names_as_by_a_scan(built, monkeypatch) -> None:
    from index import catalog as catalog_module

    index, _ = built
    queries = [{"metric": "投资"}, {"entity": "吕梁"}, {"entity": "梁", "metric": "签约"}, {"metric": "无此指标"},
               {"metric": "%"}, {"metric": "_"}]
    by_names = [index.catalog.figures(**q) for q in queries]
    monkeypatch.setattr(catalog_module, "MAX_IN_NAMES", 0)  # every filter by the LIKE scan instead
    assert [index.catalog.figures(**q) for q in queries] == by_names
    assert [total for _, total in by_names] == [2, 2, 2, 0, 0, 0]


def test_an_ascii_metric_is_found_in_either_case(tmp_path: Path) -> None:
    from index.catalog import Catalog, SourceRecord
    from index.types import Chunk

    catalog = Catalog(tmp_path / "c.sqlite")
    chunk = Chunk(id="c1", text="全市GDP达1200亿元。", source="a.txt", city="吕梁市")
    catalog.commit({"a.txt": (SourceRecord("a.txt", "x", ("c1",), 1), [(chunk, [])])}, (), {})
    assert catalog.figures(metric="gdp")[1] == catalog.figures(metric="GDP")[1] == 1
    chunk2 = Chunk(id="c2", text="全市进出口总额达56亿元。", source="b.txt", city="太原市")
    catalog.commit({"b.txt": (SourceRecord("b.txt", "y", ("c2",), 1), [(chunk2, [])])}, (), {})
    assert catalog.figures(metric="进出口")[1] == 1  # a commit makes the names be read again


def test_a_short_bracket_inside_a_word_is_part_of_the_metric() -> None:
    rows = {r.text: r for r in figure_rows("截至目前，共有287户村（居）民自愿报名安装光伏。融资（含意向）50亿元。")}
    assert rows["287户"].metric == "村（居）民"
    assert "含意向" not in rows["50亿元"].metric  # a note in brackets is no part of a name


def test_a_news_article_naming_no_place_in_a_passage_is_about_what_its_lead_names(tmp_path: Path) -> None:
    """A report's later passage names no place: its figures are about the country (我国) its lead names,
    not about nothing; a passage that names a place keeps it."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    lead = "国务院新闻办公室举行吹风会，介绍有关情况。副行长表示，我国金融支持科技创新的强度持续提升。" * 3
    later = "截至2023年6月末，高技术制造业中长期贷款余额2.5万亿元，同比增长41.5%。" * 3
    placed = "在上海，科技型中小企业贷款余额2.36万亿元。" * 3
    (corpus / "news.txt").write_text(f"2023-07-28 08:09:00，正文：{lead}\n{later}\n{placed}\n", encoding="utf-8")
    index = BulletinIndex(make_settings(tmp_path / "data", corpus_dir=corpus, chunk_chars=120))
    try:
        Builder(index, show_progress=False).build(corpus)
        rows = {r.text: r for r in index.figures(limit=100)[0]}
        assert len(index.chunks) >= 3
        assert rows["2.5万亿元"].entity == "全国" and rows["41.5%"].entity == "全国"
        assert rows["2.36万亿元"].entity == "上海"
        assert_figures_match(index)
    finally:
        index.close()


def test_a_passage_of_a_passages_jsonl_takes_no_lead_from_the_passage_before(tmp_path: Path) -> None:
    """Each passage of a jsonl corpus is a document of its own: the first one's place is no lead for the rest."""
    import json

    passages = tmp_path / "passages.jsonl"
    passages.write_text("\n".join(json.dumps(p, ensure_ascii=False) for p in (
        {"id": "p1", "text": "在上海，某展会举行，签约项目30个。"},
        {"id": "p2", "text": "截至6月末，高技术制造业中长期贷款余额2.5万亿元。"},
    )) + "\n", encoding="utf-8")
    index = BulletinIndex(make_settings(tmp_path / "data"))
    try:
        Builder(index, show_progress=False).build(passages)
        rows = {r.text: r for r in index.figures(limit=100)[0]}
        assert rows["30个"].entity == "上海" and rows["2.5万亿元"].entity == ""
        assert_figures_match(index)
    finally:
        index.close()


def test_a_relation_verb_leaves_the_counted_thing_and_an_adverb_of_all_ends_it() -> None:
    """「77个项目主要涉及生物医药」 counts 项目; 「其中包含制造业11个」 counts 制造业 (what follows a
    relation that opens the phrase); 「47个千吨级泊位全部建成投用」 counts 千吨级泊位."""
    assert [r[1] for r in cells("本次签约77个项目主要涉及生物医药、集成电路等领域。")] == ["项目"]
    assert [r[1] for r in cells("获颁证书的地区总部，包含制造业11个、服务业33个。")] == ["制造业", "服务业"]
    assert [r[1] for r in cells("47个千吨级泊位全部建成投用。")] == ["千吨级泊位"]
    assert [r[1] for r in cells("为在滇台商台企争取各奖励补助资金1100余万元。")] == ["各奖励补助资金"]


def test_an_enterprise_named_after_its_place_is_the_entity_not_the_place() -> None:
    """「苏州氢澜科技」: 行政区划 + 字号 + 行业 names a company; 「吕梁市新能源汽车」 (a known word in
    the trade name's place) is the place's industry."""
    rows = cells("签约苏州氢澜科技年产1000台氢燃料电池发动机、江苏玄智智能科技年产15万吨电机壳体铸件等项目。", city="吕梁市")
    assert [r[0] for r in rows] == ["苏州氢澜科技", "江苏玄智智能科技"]
    assert cells("吕梁市新能源汽车产量1.2万辆。")[0][0] == "吕梁市"


def test_figures_listed_after_fenbie_take_the_items_listed_before_it() -> None:
    """「分别」 pairs the items before it with the figures after it, in order; the last item carries
    the shared head (屋顶光伏安装比例)."""
    rows = cells("高新区党政机关、社会公共建筑、工商业厂房、农村居民屋顶光伏安装比例分别要达到50%、40%、30%、20%。")
    assert [r[1] for r in rows] == ["党政机关屋顶光伏安装比例", "社会公共建筑屋顶光伏安装比例",
                                    "工商业厂房屋顶光伏安装比例", "农村居民屋顶光伏安装比例"]
    assert [r[2] for r in rows] == ["50", "40", "30", "20"]
    # Two items for three figures: no pairing.
    assert len({r[1] for r in cells("出口额、进口额分别增长5%、6%、7%。")}) < 3


def test_an_event_counted_by_jie_is_the_entity_of_a_passage_naming_no_place() -> None:
    rows = cells("截至目前，本届进博会已有约200家企业连续6年签约参展，此外，共有近20家世界500强和行业龙头企业。")
    assert [(r[0], r[1]) for r in rows] == [("进博会", "企业"), ("进博会", "世界500强和行业龙头企业")]
    assert cells("本届进博会在吕梁市签约项目12个。", city="吕梁市")[0][0] == "吕梁市"  # a place still comes first
    assert cells("第六届进博会企业商业展签约展览面积已超过36万平方米。")[0][:2] == ("第六届进博会", "企业商业展签约展览面积")


def test_the_country_is_one_entity_and_a_trailing_preposition_is_no_part_of_the_metric() -> None:
    assert {r[0] for r in cells("我国已有25个省市推行积分制。全国已有100多个国家高新区推行。")} == {"全国"}
    assert cells("每年货物吞吐量增加在30%以上。")[0][1] == "每年货物吞吐量增加"


def test_a_news_outlet_and_a_datelines_place_are_no_entity() -> None:
    """「（中国台湾网 叶春禄 摄）…7月26日昆明讯」 says who reported and from where; the figures are 云南省's."""
    from index.figure_table import title_place

    lead = "图为会议现场（中国台湾网叶春禄摄）中国台湾网7月26日昆明讯（记者叶春禄）云南省委台办召开会议。"
    assert title_place(lead) == "云南省"
    assert [r[0] for r in cells("图为会议现场（中国台湾网叶春禄摄）全省签署合作项目18个。")] == [""]
    assert cells("上海网络安全产业规模达到800亿元。")[0][0] == "上海"


def test_a_count_of_actions_counts_the_clause_after_it() -> None:
    """动量词 (次, 场) count actions: 「20余次协同调处困难问题」 counts 协同调处困难问题."""
    rows = cells("20余次协同调处困难问题；10余次深入走访台企调研；举办3场产业交流合作对接会。")
    assert [r[1] for r in rows] == ["协同调处困难问题", "深入走访台企调研", "产业交流合作对接会"]
    assert cells("开展基金招商等活动864场次。")[0][1] != "次"  # 场次 is one unit, not an action 次


def test_a_verb_in_its_sentence_ends_the_counted_thing() -> None:
    """jieba's dictionary calls 扎根 a place and 落地 a noun; LAC reads them as the verbs they are
    here, so they are no part of what is counted.  A bound and an amount before the noun (超百亿元)
    name a class of it; a verb noun (科技创新) stays."""
    rows = cells("新区已累计引进产业项目189个，7家世界500强企业扎根于此，9个超百亿元项目落地开工。")
    assert [r[1] for r in rows] == ["引进产业项目", "世界500强企业", "超百亿元项目"]
    assert cells("587家金融和类金融机构落地哈尔滨新区。")[0][1] == "金融和类金融机构"
    assert cells("已有14家外资公司正式开工投产。")[0][1] == "外资公司"  # the adverb goes with the verb
    assert cells("其中沈阳高新区共24个项目入围。")[0][1] == "项目入围"  # after a bare noun it says which
    assert cells("安排20亿元科技创新、20亿元产业转型升级。")[0][1] == "科技创新"


def test_a_district_named_earlier_in_the_article_is_what_a_later_quanqu_refers_to() -> None:
    """A 「全区」 whose passage names no district is the district named before it in the article, not
    the city the report is filed under; a 「全市」 of the bulletin's own city stays that city."""
    from index.figure_table import named_places

    earlier = tuple(named_places("近年来，依托日照市东港区这片创新创业沃土，一大批民营企业发展壮大。"))
    text = "2023年，全区新增省级专精特新企业26家。"
    assert [r.entity for r in figure_rows(text, city="日照市", earlier=earlier)] == ["东港区"]
    assert [r.entity for r in figure_rows(text, city="日照市")] == ["日照市"]
    county = tuple(named_places("孝义经济技术开发区签约项目9个。"))
    assert [r.entity for r in figure_rows("全市签约项目53个。", city="吕梁市", earlier=county)] == ["吕梁市"]


def test_an_inclusion_after_a_count_is_skipped_and_a_first_time_verb_is_no_part_of_it() -> None:
    """「500多家包括专精特新企业在内的中小企业」 counts 中小企业; 「首次签约参展」 is what they did."""
    rows = cells("此外，共有500多家包括专精特新企业在内的中小企业首次签约参展。")
    assert [r[1] for r in rows] == ["中小企业"]


def test_a_bare_niandu_is_a_rate_not_a_period() -> None:
    """「年度投入财政资金2000余万元」 spends per year; it dates nothing (「2023年度」 does, by its year)."""
    assert cells("出台11项保障措施，年度投入财政资金2000余万元。")[-1][1:] == ("年度投入财政资金", "2000万", "元", "")
    assert cells("2023年度投入财政资金2000余万元。")[0][1:] == ("投入财政资金", "2000万", "元", "2023年度")


def test_a_sentence_stating_no_period_reports_in_the_one_an_earlier_sentence_set_off(monkeypatch) -> None:
    """「上半年，全省…。其中亿元以上项目1391个」: the report's span holds over the sentences after it; a
    day (when something happened) holds over nothing."""
    text = "上半年，吉林省实施5000万元以上项目1922个，投资增长8.7%。其中亿元以上项目1391个，完成投资同比增长9.6%。"
    rows = {r.text: r for r in figure_rows(text, city="长春市")}
    assert rows["1391个"].period == "上半年" and rows["9.6%"].period == "上半年"
    rows = {r.text: r for r in figure_rows("8月7日，举办签约仪式。签约项目12个，总投资３５.６亿元。", city="吕梁市")}
    assert rows["12个"].period == ""
    monkeypatch.setattr("index.figure_table.GOVERNING_PERIOD_ROWS", False)
    assert {r.text: r for r in figure_rows(text, city="长春市")}["1391个"].period == ""
