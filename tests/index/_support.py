"""Helpers shared by the index tests (not a test module: pytest collects ``test_*.py`` only).

Everything here builds test data in memory or under a directory the caller
passes in (always a pytest tmp dir): nothing touches the working tree or $HOME.
"""

from __future__ import annotations

import io
import os
import random
import re
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from index.embedding import Embedder
from tests.conftest import FAKE_REFUSE_BELOW, ROOT, SEED

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
CJK_SPACE_CJK = re.compile(f"[{CJK}][ \t\u3000\xa0]+[{CJK}]")
# A figure as printed in the bulletins: 24.07, -2.6%, 56GW, 162.33 …
FIGURE = re.compile(r"-?\d+(?:\.\d+)?(?:%|GW|MW)?")
SEED_NAME = SEED.name
SEED_TEXT = SEED.read_text(encoding="utf-8")

CITIES = ["晋中市", "大同市", "朔州市", "忻州市", "阳泉市", "长治市", "晋城市", "临汾市", "运城市"]


# --------------------------------------------------------------------------- synthetic bulletins


def bulletin_text(i: int, city: str | None = None) -> str:
    """A small one-paragraph-per-line bulletin, unique per ``i`` (its figures differ)."""
    rng = random.Random(i)
    city = city or CITIES[i % len(CITIES)]

    def fig() -> str:
        return f"{rng.randint(1, 999)}.{rng.randint(10, 99)}亿元"

    sign = rng.choice(["-", ""])
    lead = (
        f"今年以来，{city}开发区第{i}期工作简报显示，签约项目{rng.randint(5, 60)}个，签约投资额{fig()}，"
        f"规上工业增加值同比增长{sign}{rng.randint(1, 30)}.{rng.randint(1, 9)}%。"
    )
    items = []
    for n, ordinal in enumerate("一二三"):
        body = "".join(
            f"第{i}-{n}-{k}批项目总投资{fig()}，年产{rng.randint(1, 90)}GW光伏组件，带动就业{rng.randint(100, 9999)}人。"
            for k in range(rng.randint(2, 4))
        )
        items.append(f"{ordinal}是推进重点工程第{i}{n}号，提升开发区能级。{body}")
    return "\n".join([lead, "【工作成绩及亮点】", *items, f"供稿：{city}商务局"]) + "\n"


def seed_article_text(city_from: str, title_line: str | None = None) -> str:
    """The raw lines of one seed article (``太原市`` or ``吕梁市``), without 供稿 / running title."""
    start = SEED_TEXT.index(" 今年以来，吕梁市")
    raw = SEED_TEXT[:start] if city_from == "太原市" else SEED_TEXT[start : SEED_TEXT.index(" 供稿：")]
    return (title_line + "\n\n" if title_line else "") + raw


# --------------------------------------------------------------------------- documents


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: Sequence[Sequence[str]], to_unicode_code: str | None = None) -> bytes:
    """A minimal, valid PDF (Helvetica, ASCII text): one list of lines per page.

    ``to_unicode_code`` attaches a ToUnicode CMap mapping that hex code, to craft
    PDFs whose text extraction trips pypdf's limits.
    """
    objects: list[bytes] = []

    def stream(data: bytes) -> bytes:
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    n_pages = len(pages)
    first_page = 3
    font_obj = first_page + 2 * n_pages
    kids = " ".join(f"{first_page + 2 * k} 0 R" for k in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    for k, lines in enumerate(pages):
        ops = ["BT /F1 12 Tf 14 TL 72 720 Td"] + [f"({_pdf_escape(line)}) Tj T*" for line in lines] + ["ET"]
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {first_page + 2 * k + 1} 0 R "
            f"/Resources << /Font << /F1 {font_obj} 0 R >> >> >>".encode()
        )
        objects.append(stream("\n".join(ops).encode("latin-1")))
    font = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
    if to_unicode_code:
        font += f" /ToUnicode {font_obj + 1} 0 R"
    objects.append((font + " >>").encode())
    if to_unicode_code:
        cmap = (
            "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n"
            "1 begincodespacerange <00> <FF> endcodespacerange\n"
            f"1 beginbfchar <{to_unicode_code}> <0041> endbfchar\n"
            "endcmap CMapName currentdict /CMap defineresource pop end end"
        )
        objects.append(stream(cmap.encode()))

    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def make_docx(blocks: Sequence[tuple[str, str]]) -> bytes:
    """A .docx from (style, text) blocks; style is ``title``, ``h1``…``h3`` or ``p``."""
    import docx

    document = docx.Document()
    for style, text in blocks:
        if style == "title":
            document.add_heading(text, level=0)
        elif style.startswith("h"):
            document.add_heading(text, level=int(style[1:]))
        else:
            document.add_paragraph(text)
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def replace_zip_member(data: bytes, member: str, content: bytes) -> bytes:
    """The same zip (a .docx) with one member's content replaced (a valid archive, bad payload)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, content if info.filename == member else src.read(info.filename))
    return buf.getvalue()


def corrupt_zip_member(data: bytes, member: str, stored: bool) -> bytes:
    """Damage one member of a zip (a .docx) in the middle of its data.

    ``stored=True`` rewrites the archive with that member uncompressed first, so
    the damage shows as a CRC mismatch; otherwise the deflate stream itself is
    damaged.
    """
    if stored:
        src = zipfile.ZipFile(io.BytesIO(data))
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as dst:
            for info in src.infolist():
                compress = zipfile.ZIP_STORED if info.filename == member else zipfile.ZIP_DEFLATED
                dst.writestr(info.filename, src.read(info.filename), compress_type=compress)
        data = buf.getvalue()
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(member)
    name_len, extra_len = (
        int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little"),
        int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little"),
    )
    start = info.header_offset + 30 + name_len + extra_len
    mid = start + info.compress_size // 2
    damaged = bytearray(data)
    for i in range(mid, min(mid + 40, start + info.compress_size)):
        damaged[i] = (damaged[i] + 0x5A) % 256 or 1  # never a NUL byte
    return bytes(damaged)


# --------------------------------------------------------------------------- embedders


class CountingEmbedder(Embedder):
    """Records every batch that reaches the real encoder."""

    def __init__(self, inner: Embedder, prefixes: tuple[str, str] | None = None) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.query_prefix, self.passage_prefix = prefixes or (inner.query_prefix, inner.passage_prefix)
        self.batches: list[list[str]] = []

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return self.inner._encode(texts)

    def _encode_with_spans(self, texts, spans):
        # One encoder pass per passage, its clause vectors included (as the real encoders do).
        self.batches.append(list(texts))
        return self.inner._encode_with_spans(texts, spans)

    @property
    def encoded(self) -> int:
        return sum(len(b) for b in self.batches)


# --------------------------------------------------------------------------- index invariants


def chroma_records(index, ids: Sequence[str]) -> dict[str, tuple[np.ndarray, dict]]:
    """Stored vector and metadata per id, straight from the Chroma collection."""
    col = index.dense_store._open()
    out: dict[str, tuple[np.ndarray, dict]] = {}
    ids = list(ids)
    for i in range(0, len(ids), 500):
        got = col.get(ids=ids[i : i + 500], include=["embeddings", "metadatas"])
        for cid, vec, meta in zip(got["ids"], got["embeddings"], got["metadatas"], strict=True):
            out[cid] = (np.asarray(vec, dtype=np.float32), dict(meta or {}))
    return out


def assert_consistent(index, check_vectors: bool = True) -> set[str]:
    """Catalog and Chroma agree exactly; returns the committed chunk ids.

    With ``check_vectors`` every stored vector must be the embedding of the
    chunk's current ``indexed_text`` and Chroma's metadata must match the
    catalog's (city, context …), i.e. nothing in the dense store is stale.
    """
    catalog_ids = index.catalog.chunk_ids()
    assert index.catalog.count() == len(catalog_ids)
    chroma_ids = index.dense_store.ids()
    assert chroma_ids == catalog_ids, (
        f"orphans in Chroma: {sorted(chroma_ids - catalog_ids)[:5]}, missing: {sorted(catalog_ids - chroma_ids)[:5]}"
    )
    assert index.dense_store.count() == len(chroma_ids), "duplicate ids in Chroma"
    listed = [cid for rec in index.catalog.sources().values() for cid in rec.chunk_ids]
    assert len(listed) == len(set(listed)), "a chunk id is listed twice in the sources table"
    assert set(listed) == catalog_ids
    assert_figures_match(index)
    if check_vectors and catalog_ids:
        chunks = index.catalog.get(catalog_ids)
        stored = chroma_records(index, sorted(catalog_ids))
        order = sorted(catalog_ids)
        want = index.embedder.embed_passages([chunks[cid].indexed_text for cid in order])
        for cid, vec in zip(order, want, strict=True):
            got_vec, meta = stored[cid]
            assert float(got_vec @ vec) > 0.999, (
                f"stale vector for {cid}: {chunks[cid].context} | {chunks[cid].text[:30]}"
            )
            for key, value in chunks[cid].store_metadata().items():
                assert meta.get(key) == value, f"stale Chroma metadata {key} for {cid}"
    return catalog_ids


def expected_chunk_ids(corpus: Path, chunk_chars: int = 200) -> set[str]:
    """Chunk ids a build of ``corpus`` must end up with, computed without any index."""
    from index.chunking import chunk_bulletin
    from index.loaders import SkipFile, iter_corpus_files, load_file, load_manifest

    manifest = load_manifest(corpus)
    ids: set[str] = set()
    for path in iter_corpus_files(corpus):
        try:
            bulletin = load_file(path, path.relative_to(corpus).as_posix(), manifest.get(path.name))
        except SkipFile:
            continue
        ids.update(c.id for c in chunk_bulletin(bulletin, chunk_chars))
    return ids


# --------------------------------------------------------------------------- subprocesses


def cli_env(data_dir: Path, home: Path, **extra: str) -> dict[str, str]:
    """Environment for ``python -m index``: no developer BULLETIN_* settings, a throwaway HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BULLETIN_")}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_DATA_HOME=str(home / "share"),
        XDG_CACHE_HOME=str(home / "cache"),
        BULLETIN_DATA_DIR=str(data_dir),
        BULLETIN_EMBED_MODEL="hashing",
        BULLETIN_REFUSE_BELOW=FAKE_REFUSE_BELOW,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def index_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "index", *args]


def run_index(args: Sequence[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(index_cmd(*args), cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def assert_figures_match(index) -> None:
    """The figure table holds exactly the rows of the committed chunks: none missing, none twice,
    none of a chunk no longer committed."""
    from itertools import groupby

    from index.catalog import _SELECT_FIGURE, _figure_values, source_figures

    by_source = groupby(index.catalog.iter_chunk_data(), key=lambda c: c.source)  # in reading order
    want = sorted(_figure_values(r) for _, chunks in by_source for r in source_figures(list(chunks)))
    got = sorted(tuple(r) for r in index.catalog._db.execute(f"SELECT {_SELECT_FIGURE} FROM figures"))
    assert len(got) == len(want) and got == want, f"figure table: {len(got)} rows, the committed chunks give {len(want)}"
