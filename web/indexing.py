"""Index upkeep for the web app: build at startup when missing, add uploaded bulletins.

Uploads never overwrite a file silently: a name already in the corpus is
skipped when the content is the same, refused otherwise unless the admin ticks
「覆盖同名文件」 (and then the report says so).
"""

from __future__ import annotations

import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from index.builder import Builder, BuildReport, file_sha256
from index.loaders import MAX_FILE_BYTES, SUPPORTED, max_file_bytes
from index.store import BulletinIndex

UPLOAD_TYPES = (".pdf", ".docx", ".txt", ".md", ".html", ".htm")
_BUILD_LOCK = threading.Lock()


def ensure_index(index: BulletinIndex, corpus_dir: Path, show_progress: bool = True, log=print) -> BuildReport | None:
    """Build the index from ``corpus_dir`` when it is empty; None when it was already built."""
    if index.is_built():
        return None
    log(
        f"No index yet under {index.settings.data_dir}: building it from {corpus_dir} "
        f"with the embedding model {index.settings.embed_model} (first start only; this can take a few minutes)…"
    )
    with _BUILD_LOCK:
        report = Builder(index, show_progress=show_progress).build(corpus_dir)
    log(report.summary())
    return report


def safe_name(name: str) -> str:
    """A plain file name (no folders, no control or shell-special characters).

    >>> safe_name("../../etc/吕梁 简报（3月）.PDF")
    '吕梁_简报（3月）.pdf'
    """
    base = Path(name.replace("\\", "/")).name
    stem, suffix = Path(base).stem, Path(base).suffix.lower()
    stem = re.sub(r"[^\w（）()【】\-.·]+", "_", stem).strip("._") or "bulletin"
    return f"{stem[:120]}{suffix}"


@dataclass
class UploadResult:
    saved: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    report: BuildReport | None = None

    def text(self) -> str:
        lines = list(self.messages)
        if self.report is not None:
            lines += ["", "索引更新结果 (BuildReport):", self.report.summary()]
        elif not self.saved:
            lines.append("没有保存任何文件，索引未变。")
        return "\n".join(lines)


def save_uploads(paths: list[str | Path], names: list[str] | None, corpus_dir: Path, overwrite: bool = False,
                 max_bytes: int = MAX_FILE_BYTES) -> UploadResult:
    """Copy uploaded files into ``corpus_dir``; messages say what happened to each."""
    result = UploadResult()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(paths):
        src = Path(src)
        original = names[i] if names and i < len(names) else src.name
        name = safe_name(original)
        suffix = Path(name).suffix
        if suffix not in UPLOAD_TYPES or suffix not in SUPPORTED:
            result.messages.append(f"✗ {original}：不支持的文件类型「{suffix or '无扩展名'}」，"
                                   f"仅支持 {', '.join(UPLOAD_TYPES)}")
            continue
        size = src.stat().st_size
        if size == 0:
            result.messages.append(f"✗ {original}：文件为空")
            continue
        if size > max_bytes:
            result.messages.append(f"✗ {original}：文件过大（{size / (1 << 20):.1f} MB，上限 {max_bytes / (1 << 20):.3g} MB）")
            continue
        dest = corpus_dir / name
        if dest.exists():
            if file_sha256(dest) == file_sha256(src):
                result.messages.append(f"= {name}：语料库中已有相同内容的文件，跳过")
                continue
            if not overwrite:
                result.messages.append(f"✗ {name}：语料库中已有同名但内容不同的文件，未覆盖。"
                                       "请改名后上传，或勾选「覆盖同名文件」")
                continue
            result.messages.append(f"! {name}：已覆盖同名文件（旧版本的段落将从索引中替换）")
        else:
            result.messages.append(f"✓ {name}：已保存")
        tmp = dest.with_name(f".{dest.name}.uploading")
        shutil.copyfile(src, tmp)
        tmp.replace(dest)
        result.saved.append(name)
    return result


def add_bulletins(index: BulletinIndex, corpus_dir: Path, paths: list[str | Path], names: list[str] | None = None,
                  overwrite: bool = False) -> UploadResult:
    """Save uploads and re-index the corpus incrementally (one build at a time)."""
    result = save_uploads(paths, names, corpus_dir, overwrite, max_file_bytes(index.settings.max_file_mb))
    if result.saved:
        with _BUILD_LOCK:
            result.report = Builder(index, show_progress=False).build(corpus_dir)
    return result
