"""Defaults, environment variables and where user state lives. Resolved once; everything else derives from here."""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import click

from rag.errors import ConfigError
from rag.vocab import AnswerCheck, EmbedBackend, Fusion

APP_NAME = "ollama-rag"

# Environment variables (Ollama's own OLLAMA_HOST is honoured by rag.ollama).
ENV_HOME = "RAG_HOME"  # user directory (default: click.get_app_dir("ollama-rag"))
ENV_INDEX = "RAG_INDEX"  # index folder (default: <user dir>/index)
ENV_CHROMA_URL = "RAG_CHROMA_URL"  # use a Chroma server instead of the embedded store
ENV_EMBED_MODEL = "RAG_EMBED_MODEL"
ENV_CHAT_MODEL = "RAG_CHAT_MODEL"
ENV_COLLECTION = "RAG_COLLECTION"
ENV_OLLAMA_TIMEOUT = "RAG_OLLAMA_TIMEOUT"  # seconds: the wall-clock deadline of one Ollama model call
ENV_CONFIG = "RAG_CONFIG"  # config file (default: <user dir>/config.toml)
ENV_CACHE = "RAG_CACHE"  # files made again when missing, such as the built-in embedder's int8 model
ENV_DEBUG = "RAG_DEBUG"  # 1: crashes print their traceback
ENV_PREFIX = "RAG_"  # every other Settings field: RAG_<FIELD> (RAG_TOP_K, RAG_EMBED_BACKEND, ...)
ENV_NAMES = {"index_dir": ENV_INDEX, "ollama_host": "OLLAMA_HOST", "ollama_timeout_s": ENV_OLLAMA_TIMEOUT}
"""Settings fields whose environment variable is not RAG_<FIELD>."""
CONFIG_FILE = "config.toml"

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
DEFAULT_DENSE_WEIGHT = 0.55  # dense leg's weight in score fusion: BENCHMARKS.md "## Retrieval"
DEFAULT_SENTENCE_WEIGHT = 0.5  # share of a candidate's dense score that comes from its best sentence's cosine
DEFAULT_DENSE_WEIGHT_CJK = 0.2  # the same for a Chinese/Japanese query when the embedder is not multilingual
DEFAULT_COLLAPSE = True  # drop near-duplicate hits (overlapping chunks, repeated text) before the k are chosen
# abstention floor on the best hit's dense cosine (not the fused score): measured for all-minilm, BENCHMARKS.md "##
DEFAULT_MIN_SCORE = 0.25
DEFAULT_EMBED_BATCH = 32
DEFAULT_EMBED_IN_FLIGHT = 2
DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024
DEFAULT_FILE_TIMEOUT_S = 30.0
DEFAULT_MAX_PAGES = 5000
DEFAULT_MAX_CHUNKS_PER_FILE = 20000
DEFAULT_CONTEXT_TOKENS = 3000  # retrieved-context budget in the answer prompt
DEFAULT_CONTEXT_GAP: float | None = 2.0  # fused-score drop that ends the sources an answer reads: BENCHMARKS.md "## QA"
DEFAULT_CONTEXT_SENTENCES = 6  # the chat model reads the 6 best sentences, not whole chunks: BENCHMARKS.md "## QA"
DEFAULT_TEMPERATURE = 0.0
DEFAULT_SEED = 42
DEFAULT_ANSWER_CHECK: AnswerCheck = "off"  # measured with a 1.5B model: BENCHMARKS.md "## QA"
DEFAULT_MAX_ANSWER_TOKENS = 1024  # num_predict of answer calls: a model that never stops is cut here
DEFAULT_READER_PACK_MIN_CHUNKS = 10000  # below it a cold server reader reads the rows in ~3 s: BENCHMARKS.md


def user_dir(*, create: bool = True) -> Path:
    """The user directory (config file, chat history): $RAG_HOME, else the platform app dir for ollama-rag. Created
    on demand unless `create` is False (a reader that only reports the path)."""
    path = Path(os.environ.get(ENV_HOME) or click.get_app_dir(APP_NAME))
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:  # a reader that cannot create it still works; writers report the folder when they write
        pass
    return path


def default_index_dir() -> Path:
    """The index folder: $RAG_INDEX; else <$RAG_HOME>/index; else the old <config dir>/index when it exists (indexes
    made by earlier versions keep working); else the platform data dir (~/.local/share/ollama-rag/index on Linux,
    ~/Library/Application Support/ollama-rag/index on macOS, %LOCALAPPDATA%\\ollama-rag\\index on Windows)."""
    env = os.environ.get(ENV_INDEX)
    if env:
        return Path(env)
    if os.environ.get(ENV_HOME):
        return user_dir() / "index"
    old = Path(click.get_app_dir(APP_NAME)) / "index"
    if old.is_dir():
        return old
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "index"


def cache_dir() -> Path:
    """Files that are made again when missing (the built-in embedder's int8 model): $RAG_CACHE; else <$RAG_HOME>/cache;
    else the platform cache dir (~/.cache/ollama-rag on Linux). Not created here."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env)
    if os.environ.get(ENV_HOME):
        return user_dir(create=False) / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def config_path(*, create: bool = True) -> Path:
    """The config file: $RAG_CONFIG, else <user dir>/config.toml (the user dir is created unless `create` is False;
    the file itself never is)."""
    env = os.environ.get(ENV_CONFIG)
    return Path(env) if env else user_dir(create=create) / CONFIG_FILE


def env_name(field: str) -> str:
    """The environment variable for a Settings field.

    >>> env_name("top_k"), env_name("index_dir"), env_name("ollama_host")
    ('RAG_TOP_K', 'RAG_INDEX', 'OLLAMA_HOST')
    """
    return ENV_NAMES.get(field, ENV_PREFIX + field.upper())


@cache
def field_types() -> dict[str, Any]:
    """Each Settings field's resolved type annotation."""
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def field_docs() -> dict[str, str]:
    """Each Settings field's docstring (the string literal under it in the class body)."""
    import ast
    import inspect

    docs: dict[str, str] = {}
    body = ast.parse(inspect.getsource(Settings)).body[0]
    assert isinstance(body, ast.ClassDef)
    for node, after in zip(body.body, body.body[1:], strict=False):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = " ".join(after.value.value.split())
    return docs


def coerce(field: str, value: object, where: str) -> object:
    """`value` (from TOML, or text from an env var or the command line) as the type of Settings field `field`.

    Raises ConfigError naming `where` the value came from and what is expected.

    >>> coerce("top_k", "8", "RAG_TOP_K"), coerce("strict", "yes", "x"), coerce("ollama_timeout_s", "none", "x")
    (8, True, None)
    >>> coerce("embed_backend", "gpu", "RAG_EMBED_BACKEND")
    Traceback (most recent call last):
    ...
    rag.errors.ConfigError: RAG_EMBED_BACKEND: embed_backend must be one of auto, ollama, builtin, not 'gpu'.
    """
    kinds = field_types()
    if field not in kinds:
        close = difflib.get_close_matches(field, list(kinds), n=1)
        hint = f" Did you mean {close[0]}?" if close else " See `rag config show` for the keys."
        raise ConfigError(f"{where}: unknown setting {field!r}.{hint}")
    kind = kinds[field]
    options = [a for a in typing.get_args(kind) if a is not type(None)] if _is_union(kind) else [kind]
    optional = len(options) < len(typing.get_args(kind)) if _is_union(kind) else False
    if optional and isinstance(value, str) and value.strip().lower() in ("", "none", "null"):
        return None
    target = options[0]
    try:
        converted = _convert(target, value)
    except (TypeError, ValueError):
        expected = _describe(target) + (" or none" if optional else "")
        raise ConfigError(f"{where}: {field} must be {expected}, not {value!r}.") from None
    low, high = RANGES.get(field, (None, None))
    if (
        isinstance(converted, (int, float))
        and not isinstance(converted, bool)
        and ((low is not None and converted < low) or (high is not None and converted > high))
    ):
        bounds = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
        raise ConfigError(f"{where}: {field} must be {bounds}, not {value!r}.")
    return converted


RANGES: dict[str, tuple[float | None, float | None]] = {
    "top_k": (1, 100),
    "min_score": (-1, 1),
    "chunk_tokens": (16, None),
    "chunk_overlap": (0, None),
    "rrf_k": (1, None),
    "embed_batch": (1, None),
    "embed_in_flight": (1, None),
    "max_file_bytes": (1, None),
    "file_timeout_s": (0.1, None),
    "max_pages": (1, None),
    "max_chunks_per_file": (1, None),
    "context_tokens": (100, None),
    "context_gap": (0, None),
    "context_sentences": (0, None),
    "temperature": (0, 2),
    "ollama_timeout_s": (0.1, None),
    "ollama_retries": (0, 20),
    "reader_pack_min_chunks": (0, None),
}
"""Accepted numeric ranges, checked wherever a value comes from (flag values are checked by click as well)."""


def _is_union(kind: Any) -> bool:
    return typing.get_origin(kind) in (typing.Union, types.UnionType)


def _convert(target: Any, value: object) -> object:
    if typing.get_origin(target) is Literal:
        if value in typing.get_args(target):
            return value
        raise ValueError(value)
    convert = _CONVERTERS.get(target)
    if convert is None:
        raise TypeError(target)
    return convert(value)


def _to_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return text in ("1", "true", "yes", "on")
    raise ValueError(value)


def _to_int(value: object) -> int:
    if isinstance(value, (bool, float)):
        raise TypeError(value)
    return int(str(value).strip())


def _to_float(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise TypeError(value)
    return float(value.strip()) if isinstance(value, str) else float(value)


def _to_path(value: object) -> Path:
    if not isinstance(value, str) or not value.strip():
        raise TypeError(value)
    return Path(value).expanduser()


def _to_str(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(value)
    return value


_CONVERTERS: dict[Any, Any] = {bool: _to_bool, int: _to_int, float: _to_float, Path: _to_path, str: _to_str}


def _describe(target: Any) -> str:
    if typing.get_origin(target) is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(target))
    return {bool: "true or false", int: "a whole number", float: "a number", Path: "a folder path", str: "text"}.get(
        target, str(target)
    )


def load_config_file(path: Path | None = None) -> dict[str, object]:
    """The validated settings in the config file (every key a Settings field, every value of its type)."""
    from rag.user_config import load

    explicit = path is not None or bool(os.environ.get(ENV_CONFIG))
    path = path or config_path()
    if not explicit and not _reachable(path.parent):
        return {}  # the default user dir cannot even be searched (another user's): there is no config to read
    table = load(path)
    return {key: coerce(key, value, f"config file {path}") for key, value in table.items()}


def _reachable(folder: Path) -> bool:
    try:
        folder.stat()
        return os.access(folder, os.X_OK)
    except OSError:
        return False


def env_settings() -> dict[str, object]:
    """The settings given by environment variables (RAG_<FIELD>, RAG_INDEX), validated."""
    found: dict[str, object] = {}
    for field in field_types():
        name = env_name(field)
        raw = os.environ.get(name)
        if raw is None or raw.strip() == "":
            continue
        found[field] = raw if field == "ollama_host" else coerce(field, raw, f"environment variable {name}")
    return found


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
    sentence_vectors: bool = True
    """Also embed each chunk's sentences, stored with it (int8), so retrieval finds a chunk by its best sentence as
    well as its whole text: more embedding work and ~2 KB per chunk; false: chunk vectors only (applies to files
    indexed from then on)."""
    builtin_int8: bool = True
    """The built-in embedder runs all-minilm in int8 arithmetic (about 1.7x faster; its vectors stay at cosine ~0.99
    of the float32 ones, ranking within 0.01 on the shared sets); false: float32, the model file as shipped."""
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
    context_gap: float | None = DEFAULT_CONTEXT_GAP
    """The chat model sees only the hits whose fused score is within this of the best hit's (at least 2 of them):
    a clear drop in score ends its sources (z-score fusion units; 0 turns it off: all k hits)."""
    context_sentences: int = DEFAULT_CONTEXT_SENTENCES
    """When above 0, the chat model reads only this many sentences of its sources, those that best match the question
    (as extractive answers choose them), instead of whole chunks; 0: whole chunks."""
    temperature: float = DEFAULT_TEMPERATURE
    """Sampling temperature of the chat model (0: most deterministic)."""
    seed: int = DEFAULT_SEED
    """Sampling seed sent to the chat model, for repeatable answers."""
    strict: bool = False
    """Drop citations whose quote cannot be found in the cited chunk."""
    prompts_dir: Path | None = None
    """A folder whose files override the shipped prompt templates."""
    answer_check: AnswerCheck = DEFAULT_ANSWER_CHECK
    """After a generative answer: "quote" asks the chat model once more, in a short yes/no call, whether the quoted
    evidence answers the question; "span" asks it to copy the answering words out of that evidence (an empty or
    non-verbatim copy is a no); either abstains on a no (for small models, which rarely abstain); "off" skips."""
    reader_pack_min_chunks: int = DEFAULT_READER_PACK_MIN_CHUNKS
    """Chroma server: from this many chunks on, a writer also stores a ready-made reader pack (mirror and BM25) on
    the server after a run that changed a tenth of it, so a reader with an empty folder downloads it instead of
    reading every row and building BM25 itself."""

    @classmethod
    def resolve(cls, **overrides: object) -> Settings:
        """Settings from explicit overrides (None = unset), then environment variables (RAG_<FIELD>), then the config
        file (`config_path()`), then defaults. Raises ConfigError for an invalid value, naming where it came from."""
        given = {k: v for k, v in overrides.items() if v is not None}
        unknown = set(given) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        merged: dict[str, Any] = load_config_file() | env_settings() | given
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
