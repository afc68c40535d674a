"""Defaults, environment variables and where user state lives. Resolved once; everything else derives from here."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

import click

from rag.vocab import EmbedBackend, Fusion

APP_NAME = "ollama-rag"

# Environment variables (Ollama's own OLLAMA_HOST is honoured by rag.ollama).
ENV_HOME = "RAG_HOME"  # user directory (default: click.get_app_dir("ollama-rag"))
ENV_INDEX = "RAG_INDEX"  # index folder (default: <user dir>/index)
ENV_CHROMA_URL = "RAG_CHROMA_URL"  # use a Chroma server instead of the embedded store
ENV_EMBED_MODEL = "RAG_EMBED_MODEL"
ENV_CHAT_MODEL = "RAG_CHAT_MODEL"
ENV_COLLECTION = "RAG_COLLECTION"
ENV_OLLAMA_TIMEOUT = "RAG_OLLAMA_TIMEOUT"  # seconds: the wall-clock deadline of one Ollama model call

# Defaults. Chunking/retrieval numbers are chosen by measurement: see BENCHMARKS.md.
DEFAULT_COLLECTION = "default"
DEFAULT_EMBED_MODEL = "all-minilm"
DEFAULT_CHAT_MODEL = "llama3.2"
DEFAULT_EMBED_BACKEND: EmbedBackend = "auto"
DEFAULT_CHUNK_TOKENS = 200
DEFAULT_CHUNK_OVERLAP = 30
DEFAULT_TOP_K = 6
DEFAULT_RRF_K = 10  # RRF constant: best of 1-100 on SciFact, SQuAD2 and CMRC2018 (BENCHMARKS.md "## Defaults")
DEFAULT_FUSION: Fusion = "zscore"  # measured: BENCHMARKS.md "## Retrieval"
DEFAULT_DENSE_WEIGHT = 0.5  # dense leg's weight in score fusion
DEFAULT_DENSE_WEIGHT_CJK = 0.2  # the same for a Chinese/Japanese query when the embedder is not multilingual
DEFAULT_COLLAPSE = True  # drop near-duplicate hits (overlapping chunks, repeated text) before the k are chosen
DEFAULT_MIN_SCORE = 0.25  # abstention floor on the best hit's dense cosine (not the fused score): measured for all-minilm, BENCHMARKS.md "## Defaults"
DEFAULT_EMBED_BATCH = 32
DEFAULT_EMBED_IN_FLIGHT = 2
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
DEFAULT_FILE_TIMEOUT_S = 30.0
DEFAULT_MAX_PAGES = 5000
DEFAULT_MAX_CHUNKS_PER_FILE = 20000
DEFAULT_CONTEXT_TOKENS = 3000  # retrieved-context budget in the answer prompt
DEFAULT_TEMPERATURE = 0.0
DEFAULT_SEED = 42
DEFAULT_MAX_ANSWER_TOKENS = 1024  # num_predict of answer calls: a model that never stops is cut here


def user_dir() -> Path:
    """The user directory: $RAG_HOME, else the platform app dir for ollama-rag. Created on demand."""
    path = Path(os.environ.get(ENV_HOME) or click.get_app_dir(APP_NAME))
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_index_dir() -> Path:
    """The index folder: $RAG_INDEX, else <user dir>/index (found from any working directory)."""
    env = os.environ.get(ENV_INDEX)
    return Path(env) if env else user_dir() / "index"


def _env_seconds(name: str) -> float | None:
    """A positive number of seconds from environment variable `name` (None when unset or empty)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        from rag.errors import RagError

        raise RagError(f"{name} must be a positive number of seconds, not {raw!r}. Fix or unset it.")
    return value


@dataclass(frozen=True)
class Settings:
    """Every knob of a RAG instance. `Settings.resolve(**overrides)` fills unset ones from env and defaults."""

    index_dir: Path | None = None
    """Folder of the embedded Chroma store, catalog and lock (None: default_index_dir())."""
    chroma_url: str | None = None
    """http://HOST:PORT of a Chroma server; the catalog and lock still live in index_dir."""
    collection: str = DEFAULT_COLLECTION
    """Collection name: one index folder can hold several independent collections."""
    embed_model: str | None = None
    """Embedding model; None: the collection's model from its manifest, else DEFAULT_EMBED_MODEL."""
    embed_backend: EmbedBackend = DEFAULT_EMBED_BACKEND
    """"auto" (Ollama when it serves the model, else built in), "ollama" or "builtin" (in-process all-minilm)."""
    chat_model: str = DEFAULT_CHAT_MODEL
    """Ollama model name, or gguf:PATH for in-process llama.cpp, or "none" for extractive answers only."""
    ollama_host: str | None = None
    """Ollama server address (None: $OLLAMA_HOST, else http://127.0.0.1:11434)."""
    ollama_timeout_s: float | None = None
    """Wall-clock deadline in seconds of one Ollama call that runs a model (chat, embed), retries included
    ($RAG_OLLAMA_TIMEOUT, `--timeout`; None: 300 s, since a model load can take minutes)."""
    ollama_short_timeout_s: float | None = None
    """Wall-clock deadline of the quick Ollama calls: tags, show, version, ps (None: 10 s; never above the other)."""
    max_reply_bytes: int | None = None
    """Largest Ollama reply (or whole answer stream) accepted, in bytes; a larger one is an error (None: 2 MB, and
    256 KB more per text for embed)."""
    max_answer_tokens: int = DEFAULT_MAX_ANSWER_TOKENS
    """Most tokens the chat model may generate for one answer (sent as options.num_predict)."""
    ollama_retries: int | None = None
    """Extra attempts on connect errors, 503 and other safe-to-retry failures (None: rag.ollama's default, 3)."""
    chunk_tokens: int = DEFAULT_CHUNK_TOKENS
    """Target chunk size in estimated tokens: smaller finds finer passages, larger gives the model more context."""
    chunk_overlap: int = DEFAULT_CHUNK_OVERLAP
    """Tokens shared by neighbouring chunks, so a sentence cut at a boundary is whole in one of them."""
    top_k: int = DEFAULT_TOP_K
    """Chunks retrieved and shown to the model: more raises recall and prompt cost."""
    rrf_k: int = DEFAULT_RRF_K
    """Reciprocal rank fusion constant: lower trusts each leg's top ranks more."""
    min_score: float = DEFAULT_MIN_SCORE
    """Abstention floor on the best hit's dense cosine similarity (0-1): higher abstains more often."""
    embed_batch: int = DEFAULT_EMBED_BATCH
    """Texts per /api/embed request."""
    embed_in_flight: int = DEFAULT_EMBED_IN_FLIGHT
    """Embedding requests sent at once (Ollama queues the rest)."""
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    """Files larger than this (bytes) are skipped with a reason."""
    file_timeout_s: float = DEFAULT_FILE_TIMEOUT_S
    """Seconds one file may take to extract before its worker is killed and the file skipped."""
    max_pages: int = DEFAULT_MAX_PAGES
    """PDF pages read per file; later pages are left out with a warning."""
    max_chunks_per_file: int = DEFAULT_MAX_CHUNKS_PER_FILE
    """A file that would make more chunks than this is skipped (a guard against generated junk)."""
    pdf_password: str | None = None
    """Password tried on encrypted PDFs."""
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    """Token budget for the retrieved passages in the answer prompt; hits past it are left out."""
    temperature: float = DEFAULT_TEMPERATURE
    """Sampling temperature of the chat model (0: most deterministic)."""
    seed: int = DEFAULT_SEED
    """Sampling seed sent to the chat model, for repeatable answers."""
    strict: bool = False
    """Drop citations whose quote cannot be found in the cited chunk."""
    prompts_dir: Path | None = None
    """A folder whose files override the shipped prompt templates."""

    @classmethod
    def resolve(cls, **overrides: object) -> Settings:
        """Settings from explicit overrides (None = unset), then RAG_* environment variables, then defaults."""
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(given) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        env = {
            "chroma_url": os.environ.get(ENV_CHROMA_URL),
            "embed_model": os.environ.get(ENV_EMBED_MODEL),
            "chat_model": os.environ.get(ENV_CHAT_MODEL),
            "collection": os.environ.get(ENV_COLLECTION),
            "ollama_timeout_s": _env_seconds(ENV_OLLAMA_TIMEOUT),
        }
        merged = {k: v for k, v in env.items() if v} | given
        settings = cls(**merged)
        if settings.index_dir is None:
            settings = dataclasses.replace(settings, index_dir=default_index_dir())
        else:
            settings = dataclasses.replace(settings, index_dir=Path(settings.index_dir))
        return settings

    @property
    def embed_model_or_default(self) -> str:
        """The embedding model asked for, else the default (for a new collection)."""
        return self.embed_model or DEFAULT_EMBED_MODEL
