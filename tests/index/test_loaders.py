"""index/loaders.py: every supported format, and every kind of unreadable file → ``SkipFile``."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from index.builder import Builder
from index.loaders import (
    SkipFile,
    apply_manifest,
    decode_text,
    iter_corpus_files,
    load_file,
    load_manifest,
    max_file_bytes,
    read_text,
)
from index.store import BulletinIndex
from tests.conftest import SEED, make_settings
from tests.index._support import (
    SEED_NAME,
    assert_consistent,
    corrupt_zip_member,
    make_docx,
    make_pdf,
    replace_zip_member,
)

BODY = "今年以来，晋中市开发区签约项目12个，签约投资额24.07亿元，同比增长-2.6%，晶科能源年产56GW项目加快投产。"


@pytest.fixture(autouse=True)
def _quiet_pypdf() -> None:
    # pypdf logs a warning per broken object; the assertions below say what matters.
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _write(path: Path, data: bytes | str) -> Path:
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- text encodings


def test_utf8_txt(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.txt", BODY + "\n")
    bulletin = load_file(path, "a.txt")
    assert bulletin.source == "a.txt"
    assert bulletin.articles[0].text == BODY
    assert bulletin.articles[0].city == "晋中市"


def test_utf8_with_bom(tmp_path: Path) -> None:
    path = _write(tmp_path / "bom.txt", b"\xef\xbb\xbf" + (BODY + "\n").encode("utf-8"))
    assert not read_text(path).startswith("\ufeff")
    bulletin = load_file(path, "bom.txt")
    assert bulletin.articles[0].paragraphs[0].text == BODY


def test_gb18030_is_decoded(tmp_path: Path) -> None:
    data = (BODY + "\n【工作成绩及亮点】\n一是滚动开展“三个一批”活动。签约投资额24.07亿元。\n").encode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really not UTF-8
    path = _write(tmp_path / "gbk.txt", data)
    bulletin = load_file(path, "gbk.txt")
    article = bulletin.articles[0]
    assert article.paragraphs[0].text == BODY
    assert article.paragraphs[-1].item == "一是滚动开展“三个一批”活动"


def test_decode_text_order() -> None:
    assert decode_text("吕梁".encode()) == "吕梁"
    assert decode_text(b"\xef\xbb\xbf" + "吕梁".encode()) == "吕梁"
    assert decode_text("吕梁".encode("gb18030")) == "吕梁"


def test_markdown_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.md", f"# 晋中市：项目建设提速\n\n{BODY}\n")
    bulletin = load_file(path, "a.md")
    assert [a.title for a in bulletin.articles] == ["晋中市：项目建设提速"]
    assert bulletin.articles[0].text == BODY


def test_uppercase_extension_is_supported(tmp_path: Path) -> None:
    path = _write(tmp_path / "A.TXT", BODY)
    assert load_file(path, "A.TXT").articles[0].text == BODY


# --------------------------------------------------------------------------- structured formats


def test_docx_heading_styles_become_article_titles(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.docx",
        make_docx(
            [
                ("title", "开发区工作简报 第12期"),
                ("h1", "晋中市：项目建设提速"),
                ("p", BODY),
                ("h1", "吕梁市：以“三个一批”活动为抓手"),
                ("p", "今年以来，吕梁市签约项目12个，签约投资额24.07亿元。"),
                ("h3", "工作成绩及亮点"),
                ("p", "一是滚动开展“三个一批”活动。开工项目10个，总投资12.12亿元。"),
                ("p", "   "),
                ("h2", "太原市：发挥开发区主战场主引擎作用"),
                ("p", "太原市支持晶科能源年产56GW垂直一体化大基地加快投产。"),
            ]
        ),
    )
    text = read_text(path)
    assert "# 晋中市：项目建设提速" in text and "## 太原市：发挥开发区主战场主引擎作用" in text
    bulletin = load_file(path, "a.docx")
    assert bulletin.issue_title == "开发区工作简报 第12期"  # the Title style names the issue
    assert [a.title for a in bulletin.articles] == [
        "晋中市：项目建设提速",
        "吕梁市：以“三个一批”活动为抓手",
        "太原市：发挥开发区主战场主引擎作用",
    ]
    assert [a.city for a in bulletin.articles] == ["晋中市", "吕梁市", "太原市"]
    item = next(p for p in bulletin.articles[1].paragraphs if "12.12亿元" in p.text)
    assert (item.section, item.item) == ("工作成绩及亮点", "一是滚动开展“三个一批”活动")


def test_html_drops_scripts_and_chrome(tmp_path: Path) -> None:
    html = f"""<!doctype html><html><head><meta charset="utf-8"><title>简报</title>
    <style>p {{ color: red }}</style><script>var secret = "不应出现的脚本文字";</script></head>
    <body><nav>首页 | 导航栏文字</nav>
    <h1>晋中市：项目建设提速</h1>
    <p>{BODY}</p>
    <p>一季度完成 <b>162.33</b> 亿元，<script>alert("脚本")</script>高于全市平均增速7.3个百分点。</p>
    <ul><li>签约项目12个</li></ul>
    <footer>版权所有 页脚文字</footer></body></html>"""
    path = _write(tmp_path / "a.html", html)
    text = read_text(path)
    for junk in ["不应出现的脚本文字", "alert", "导航栏文字", "页脚文字", "color: red"]:
        assert junk not in text
    bulletin = load_file(path, "a.html")
    article = bulletin.articles[0]
    assert article.title == "晋中市：项目建设提速"
    assert BODY in article.text
    assert "一季度完成162.33亿元，高于全市平均增速7.3个百分点。" in article.text
    assert "签约项目12个" in article.text


def test_htm_without_block_tags(tmp_path: Path) -> None:
    path = _write(tmp_path / "bare.htm", f"<html><body>{BODY}<br>第二行：签约投资额24.07亿元。</body></html>")
    bulletin = load_file(path, "bare.htm")
    assert BODY in bulletin.articles[0].text


def test_pdf_text_comes_through_pypdf(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "a.pdf",
        make_pdf(
            [
                ["Taiyuan High-Tech Zone signed 12 projects.", "Investment reached 24.07 billion yuan."],
                ["Growth was -2.6% year on year; capacity 56GW."],
            ]
        ),
    )
    text = read_text(path)
    assert "Taiyuan High-Tech Zone signed 12 projects." in text
    assert "24.07 billion yuan" in text
    assert "-2.6%" in text and "56GW" in text
    assert "\n\n" in text  # pages are separated like a page break
    bulletin = load_file(path, "a.pdf")
    article_text = bulletin.articles[0].text
    assert "Taiyuan High-Tech Zone" in article_text
    # (Spacing next to figures is normalised for Chinese text, e.g. 「56 GW」 → 「56GW」.)
    assert "24.07" in article_text and "-2.6%" in article_text and "56GW" in article_text


# --------------------------------------------------------------------------- bad files


def _bad_files(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    """name → (content, a phrase the skip reason must contain)."""
    good_docx = make_docx([("h1", "晋中市"), ("p", BODY)])
    good_pdf = make_pdf([["Investment reached 24.07 billion yuan."]])
    return {
        "empty.txt": (b"", "empty file"),
        "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
        "latin.txt": ("Caf\xe9 r\xe9sum\xe9 \xff\xfe".encode("latin-1"), "not valid UTF-8 or GB18030"),
        "table.xlsx": (b"PK\x03\x04 whatever", "unsupported file type '.xlsx'"),
        "no_extension": (BODY.encode(), "unsupported file type"),
        "whitespace.md": (b"  \n\n\t\n", "no text"),
        "broken.pdf": (b"%PDF-1.4\n1 0 obj << /Type /Catalog garbage", "unreadable PDF"),
        "truncated.pdf": (good_pdf[: len(good_pdf) // 2], "unreadable PDF"),
        "not_a_pdf.pdf": (BODY.encode(), "unreadable PDF"),
        "blank.pdf": (make_pdf([[]]), "no text"),
        "cmap_limit.pdf": (make_pdf([["Investment 24.07"]], to_unicode_code="41" * 19), "unreadable PDF"),
        "broken.docx": (b"this is not a zip archive", "unreadable DOCX"),
        "truncated.docx": (good_docx[: len(good_docx) // 2], "unreadable DOCX"),
        "bad_crc.docx": (corrupt_zip_member(good_docx, "word/document.xml", stored=True), "unreadable DOCX"),
        "bad_deflate.docx": (corrupt_zip_member(good_docx, "word/document.xml", stored=False), "unreadable DOCX"),
        "bad_xml.docx": (
            replace_zip_member(good_docx, "word/document.xml", b"<w:document><unclosed"),
            "unreadable DOCX",
        ),
        "empty_body.docx": (make_docx([("p", "  ")]), "no text"),
        "script_only.html": (b"<html><script>var a = 1;</script></html>", "no text"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "empty.txt",
        "binary.txt",
        "latin.txt",
        "table.xlsx",
        "no_extension",
        "whitespace.md",
        "broken.pdf",
        "truncated.pdf",
        "not_a_pdf.pdf",
        "blank.pdf",
        "cmap_limit.pdf",
        "broken.docx",
        "truncated.docx",
        "bad_crc.docx",
        "bad_deflate.docx",
        "bad_xml.docx",
        "empty_body.docx",
        "script_only.html",
    ],
)
def test_bad_file_raises_skipfile_with_reason(tmp_path: Path, name: str) -> None:
    data, reason = _bad_files(tmp_path)[name]
    path = _write(tmp_path / name, data)
    with pytest.raises(SkipFile) as info:
        load_file(path, name)
    assert reason in str(info.value)


def test_encrypted_pdf_is_skipped(tmp_path: Path) -> None:
    from pypdf import PdfWriter

    plain = _write(tmp_path / "plain.pdf", make_pdf([["Investment reached 24.07 billion yuan."]]))
    writer = PdfWriter(clone_from=str(plain))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    locked = tmp_path / "locked.pdf"
    with locked.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(SkipFile, match="unreadable PDF"):
        load_file(locked, "locked.pdf")


def test_binary_detection_needs_a_nul_byte() -> None:
    with pytest.raises(SkipFile, match="NUL"):
        decode_text("2024年吕梁".encode("utf-16"))  # UTF-16 of ASCII digits is full of NULs
    with pytest.raises(SkipFile, match="re-save it as UTF-8"):
        decode_text(b"\x80\x81\xff abc")


def test_unreadable_file_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "gone.txt"
    with pytest.raises(SkipFile, match="cannot read file"):
        read_text(path)


def test_corpus_listing_skips_hidden_files_and_the_manifest(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    for rel in ["b.txt", "a.md", "sub/c.docx", ".hidden.txt", ".git/config", "manifest.json"]:
        (tmp_path / rel).write_text("x", encoding="utf-8")
    assert [p.relative_to(tmp_path).as_posix() for p in iter_corpus_files(tmp_path)] == ["a.md", "b.txt", "sub/c.docx"]
    assert list(iter_corpus_files(tmp_path / "b.txt")) == [tmp_path / "b.txt"]


def test_manifest_loading_and_mismatch_warning(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"_about": "x", "a.txt": {"issue_title": "第1期"}}', encoding="utf-8")
    assert load_manifest(tmp_path) == {"a.txt": {"issue_title": "第1期"}}
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    assert load_manifest(tmp_path) == {}
    assert load_manifest(tmp_path / "nowhere") == {}

    bulletin = load_file(SEED, SEED_NAME)
    apply_manifest(bulletin, {"articles": [{"city": "大同市", "title": "只有一篇"}]})
    assert [a.city for a in bulletin.articles] == ["太原市", "吕梁市"]  # not applied: counts differ
    assert "manifest lists 1 articles but 2 were found" in bulletin.warnings[0]


# --------------------------------------------------------------------------- through the builder


def test_builder_skips_every_bad_file_and_indexes_the_seed(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED_NAME)
    bad = _bad_files(tmp_path)
    for name, (data, _) in bad.items():
        _write(corpus / name, data)
    (corpus / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    settings = make_settings(tmp_path / "data", corpus_dir=corpus)
    index = BulletinIndex(settings)
    report = Builder(index, show_progress=False).build(corpus)

    reasons = {s.path: s.reason for s in report.skipped}
    assert set(reasons) == set(bad)  # hidden files are not even listed
    for name, (_, phrase) in bad.items():
        assert phrase in reasons[name], (name, reasons[name])
    assert report.files_new == 1 and report.articles == 2
    assert {c.source for c in index.chunks.values()} == {SEED_NAME}
    assert set(index.catalog.sources()) == {SEED_NAME}
    for name in bad:
        assert f"skipped {name}: " in report.summary()
    assert_consistent(index, check_vectors=False)
    index.close()


def test_a_file_that_breaks_keeps_its_previous_version(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    good = _write(corpus / "jinzhong.md", f"# 晋中市：项目建设提速\n\n{BODY}\n")
    settings = make_settings(tmp_path / "data", corpus_dir=corpus)
    index = BulletinIndex(settings)
    Builder(index, show_progress=False).build(corpus)
    before = index.catalog.chunk_ids()
    assert before

    good.write_bytes(b"\x00\x01binary now")
    report = Builder(index, show_progress=False).build(corpus)
    assert [(s.path, s.reason) for s in report.skipped] == [
        ("jinzhong.md", "binary file (contains NUL bytes), not text")
    ]
    assert "jinzhong.md: kept the previously indexed version" in report.warnings
    assert report.files_removed == 0
    assert index.catalog.chunk_ids() == before
    assert_consistent(index, check_vectors=False)
    index.close()


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "big.txt", BODY * 2000)  # ~330 KB
    with pytest.raises(SkipFile, match=r"file too large \(0\.3 MB, limit 0\.1 MB: BULLETIN_MAX_FILE_MB\)"):
        load_file(path, "big.txt", max_bytes=max_file_bytes(0.1))
    assert load_file(path, "big.txt").articles  # the default limit lets it through


@pytest.mark.integration  # builds an index of a 30 MB file: seconds, `make test` only
def test_huge_gbk_and_broken_files_next_to_the_seed(tmp_path: Path) -> None:
    """A real ``python -m index build`` (bounded in time) over the seed, a GBK bulletin, a 50 MB text file and
    cut-off/undecodable files: the huge one is skipped before it is read, the GBK one is indexed, the rest
    is named in the report with its reason, and the seed question is answered from the result."""
    from assistant.chain import BulletinAssistant
    from tests.index._support import bulletin_text, cli_env, run_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED, corpus / SEED_NAME)
    gbk = bulletin_text(7, city="大同市")
    _write(corpus / "datong_gbk.txt", gbk.encode("gbk"))
    block = "".join(bulletin_text(i) for i in range(50)).encode("utf-8")  # real bulletin text, repeated
    _write(corpus / "huge.txt", block * (50_000_000 // len(block) + 1))  # ~50 MB, generated, never committed
    bad = _bad_files(tmp_path)
    for name in ("truncated.pdf", "truncated.docx", "latin.txt"):
        _write(corpus / name, bad[name][0])

    data = tmp_path / "data"
    try:
        result = run_index(["build", "--quiet", str(corpus)], cli_env(data, tmp_path / "home"), timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("the build took over 120 s (killed): was the 50 MB file read and chunked instead of skipped?")
    assert result.returncode == 0, result.stderr[-3000:]
    report = result.stdout
    assert "files: 2 new, 0 changed, 0 unchanged, 0 removed, 4 skipped" in report, report
    assert "skipped huge.txt: file too large (47.7 MB, limit 20 MB: BULLETIN_MAX_FILE_MB)" in report, report
    for name in ("truncated.pdf", "truncated.docx", "latin.txt"):
        assert f"skipped {name}: {bad[name][1]}" in report, report

    index = BulletinIndex(make_settings(data, corpus_dir=corpus))
    assert set(index.catalog.sources()) == {SEED_NAME, "datong_gbk.txt"}
    assert_consistent(index, check_vectors=False)
    datong = [c for c in index.chunks.values() if c.source == "datong_gbk.txt"]
    assert datong and all(c.city == "大同市" for c in datong)
    assert "".join(c.text for c in datong).count("亿元") == gbk.count("亿元")  # decoded, not mojibake
    answer = BulletinAssistant(index.settings, index=index).ask("吕梁市“三个一批”活动签约投资额是多少？")
    assert not answer.refused and "24.07亿元" in answer.text, answer.text
    index.close()
