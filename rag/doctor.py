"""`rag doctor`: check everything a setup needs, one `Check` per item, each with the fix when it is not ok.

Levels: "ok"; "warning" (works, degraded or incomplete: Ollama down -> built-in embedder and extractive answers, chat
model not pulled, no index yet); "error" (something needed is missing: no backend can serve the embedding model the
index needs, an explicitly chosen embedding model disagrees with the index, a Chroma server that does not answer, an
unusable gguf: chat model). Exit codes (`DoctorReport.exit_code`): 0 ready (warnings allowed), 1 warnings under
`strict`, 2 broken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx

from rag._result import Result
from rag.errors import PULL_FIX, SERVE_FIX, OllamaError, RagError
from rag.vocab import EXIT_FATAL, EXIT_OK, EXIT_PARTIAL, NO_CHAT_MODEL, CheckLevel

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.index.report import CollectionStatus
    from rag.ollama import Client, ModelInfo, ShowResponse

OK: CheckLevel = "ok"
WARNING: CheckLevel = "warning"
ERROR: CheckLevel = "error"
EXIT_READY, EXIT_WARNINGS, EXIT_BROKEN = EXIT_OK, EXIT_PARTIAL, EXIT_FATAL
PROBE_WORD = "doctor"
CHROMA_TIMEOUT_S = 5.0
PROMPT_HEADROOM = 1024
"""Tokens beyond the retrieved-context budget a chat model's context should hold (instructions, question, answer)."""


@dataclass(frozen=True)
class Check(Result):
    """One item of the report."""

    name: str
    """What was checked: "ollama", "embed model", "chat model", "index", "languages", "chroma", "built-in embedder"."""
    level: CheckLevel
    """"ok", "warning" or "error"."""
    detail: str
    """What was found."""
    fix: str | None = None
    """What to do about a warning or error."""
    ok: bool = field(init=False)
    """level == "ok"."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ok", self.level == OK)


@dataclass(frozen=True)
class DoctorReport(Result):
    """All checks; `ok` is False when any check is an error."""

    checks: list[Check] = field(default_factory=list)
    ok: bool = True
    warnings: int = 0
    errors: int = 0

    def exit_code(self, strict: bool = False) -> int:
        """0 ready (warnings allowed unless `strict`), 1 warnings with `strict`, 2 something needed is broken."""
        if self.errors:
            return EXIT_BROKEN
        return EXIT_WARNINGS if strict and self.warnings else EXIT_READY


@dataclass(frozen=True)
class _Ollama:
    """What the server said: None everywhere when it is down."""

    version: str | None = None
    models: list[ModelInfo] | None = None

    @property
    def up(self) -> bool:
        return self.version is not None


def doctor(settings: Settings, client: Client) -> DoctorReport:
    """Check Ollama, the configured models, the index manifest, Chroma and the built-in embedder."""
    checks: list[Check] = []
    server = _probe_ollama(client, checks)
    builtin_ok = _check_builtin(checks, int8=settings.builtin_int8)
    collection = _collection(settings, checks)
    _check_embed(settings, client, server, builtin_ok, collection, checks)
    _check_languages(settings, collection, checks)
    _check_sentences(settings, collection, checks)
    _check_chat(settings, client, server, checks)
    _check_chroma(settings, checks)
    order = [
        "ollama",
        "embed model",
        "chat model",
        "index",
        "languages",
        "sentence vectors",
        "chroma",
        "built-in embedder",
    ]
    checks.sort(key=lambda c: order.index(c.name) if c.name in order else len(order))
    warnings = sum(c.level == WARNING for c in checks)
    errors = sum(c.level == ERROR for c in checks)
    return DoctorReport(checks=checks, ok=errors == 0, warnings=warnings, errors=errors)


# ---- Ollama ----


def _probe_ollama(client: Client, checks: list[Check]) -> _Ollama:
    version = client.probe_version()
    if version is None:
        checks.append(
            Check(
                "ollama",
                WARNING,
                f"not reachable at {client.host}: embeddings use the built-in embedder and answers are extractive",
                SERVE_FIX,
            )
        )
        return _Ollama()
    try:
        models = client.tags()
    except OllamaError as exc:
        checks.append(
            Check(
                "ollama",
                ERROR,
                f"{client.host} answered with an error: {exc.error}",
                "Check the server log (`journalctl -u ollama` or the terminal running `ollama serve`).",
            )
        )
        return _Ollama()
    checks.append(Check("ollama", OK, f"Ollama {version} at {client.host}, {len(models)} models installed"))
    return _Ollama(version=version, models=models)


def _installed(server: _Ollama, model: str) -> ModelInfo | None:
    from rag.ollama.models import find_model

    return find_model(server.models or [], model)


def _show(client: Client, model: str) -> ShowResponse | None:
    try:
        return client.show(model)
    except OllamaError:
        return None


def _facts(show: ShowResponse | None, *, dims: bool) -> str:
    if show is None:
        return ""
    parts = []
    if show.context_length:
        parts.append(f"context {show.context_length} tokens")
    if dims and show.embedding_length:
        parts.append(f"{show.embedding_length} dims")
    if show.capabilities:
        parts.append("capabilities " + ", ".join(show.capabilities))
    return f" ({'; '.join(parts)})" if parts else ""


# ---- built-in embedder ----


def _check_builtin(checks: list[Check], *, int8: bool) -> bool:
    from rag.embed import BUILTIN_MODEL, open_embedder

    try:
        with open_embedder(BUILTIN_MODEL, backend="builtin", int8=int8) as embedder:
            vector = embedder.embed_query(PROBE_WORD)
    except RagError as exc:
        checks.append(
            Check(
                "built-in embedder",
                WARNING,
                f"cannot load: {exc}",
                "Reinstall ollama-rag (`pip install ollama-rag`) to restore the model files.",
            )
        )
        return False
    from rag.embed import minilm, quantized

    path = minilm.load(int8).path
    if quantized.is_int8(path):
        form = f"int8 arithmetic, kept in {path.parent}"
    elif not int8:
        form = "float32 arithmetic, as builtin_int8 = false asks"
    else:
        form = "float32 arithmetic: `pip install onnx` for the int8 form, about twice as fast"
    checks.append(Check("built-in embedder", OK, f"{BUILTIN_MODEL} loads in-process ({len(vector)} dims, {form})"))
    return True


# ---- embedding model and index ----


def _collection(settings: Settings, checks: list[Check]) -> CollectionStatus | None:
    from rag.index.status import index_status

    try:
        status = index_status(settings)
    except RagError as exc:
        checks.append(
            Check(
                "index",
                ERROR,
                f"cannot read the index in {settings.index_dir}: {exc}",
                "Rebuild it with `rag index FOLDER --rebuild`.",
            )
        )
        return None
    found = next((c for c in status.collections if c.name == settings.collection), None)
    if found is None:
        checks.append(
            Check(
                "index",
                WARNING,
                f"no collection {settings.collection!r} in {status.catalog_dir} yet",
                "Index a folder: `rag index FOLDER` (try `rag index sample_docs`).",
            )
        )
    return found


def _embed_source(model: str, settings: Settings, server: _Ollama, builtin_ok: bool) -> str | None:
    """ "ollama" or "builtin" when that backend can embed with `model` now (in the order `auto` tries), else None."""
    from rag.embed import is_builtin

    if settings.embed_backend != "builtin" and server.up and _installed(server, model):
        return "ollama"
    if settings.embed_backend != "ollama" and is_builtin(model) and builtin_ok:
        return "builtin"
    return None


def _unavailable_fix(model: str, settings: Settings, server: _Ollama) -> str:
    from rag.embed import is_builtin

    if settings.embed_backend == "builtin" and not is_builtin(model):
        return "The built-in embedder serves only all-minilm: use --embed-backend auto, or all-minilm."
    return PULL_FIX.format(model=model) if server.up else "Start Ollama with `ollama serve` (then pull the model)."


def _check_embed(
    settings: Settings,
    client: Client,
    server: _Ollama,
    builtin_ok: bool,
    collection: CollectionStatus | None,
    checks: list[Check],
) -> None:

    configured = settings.embed_model_or_default
    explicit = settings.embed_model is not None
    indexed = collection.model if collection is not None else None
    if collection is not None:
        _check_index(settings, collection, configured, explicit, checks)
    # The indexer and queries use the index's model unless another one was chosen explicitly.
    model = indexed if indexed and not explicit else configured
    role = "used by the index" if model == indexed else "configured"
    source = _embed_source(model, settings, server, builtin_ok)
    if source is None:
        checks.append(
            Check(
                "embed model",
                ERROR,
                f"{model} ({role}) is available from no backend (backend {settings.embed_backend})",
                _unavailable_fix(model, settings, server),
            )
        )
        return
    if source == "builtin":
        if server.up and settings.embed_backend == "auto":
            checks.append(
                Check(
                    "embed model",
                    WARNING,
                    f"{model} ({role}) is not installed on Ollama; the built-in embedder serves it",
                    PULL_FIX.format(model=model),
                )
            )
        else:
            checks.append(Check("embed model", OK, f"{model} ({role}) served by the built-in embedder"))
        return
    show = _show(client, model)
    detail = f"{model} ({role}) on Ollama{_facts(show, dims=True)}"
    if show is not None and show.capabilities and "embedding" not in show.capabilities:
        checks.append(
            Check(
                "embed model",
                ERROR,
                detail + ": not an embedding model",
                "Choose an embedding model, e.g. `--embed-model all-minilm`.",
            )
        )
        return
    dimension = collection.dimension if collection is not None and model == indexed else None
    if dimension and show is not None and show.embedding_length and show.embedding_length != dimension:
        checks.append(
            Check(
                "embed model",
                ERROR,
                f"{detail}: gives {show.embedding_length} dims, the index holds {dimension}",
                "Rebuild the index: `rag index FOLDER --rebuild`.",
            )
        )
        return
    checks.append(Check("embed model", OK, detail))


def _check_index(
    settings: Settings, collection: CollectionStatus, configured: str, explicit: bool, checks: list[Check]
) -> None:
    from rag.ollama.models import normalize_model

    where = f"collection {collection.name!r}: {collection.files} files, {collection.chunks} chunks"
    built = f"built with {collection.model} ({collection.dimension} dims)"
    if collection.model and explicit and normalize_model(configured) != normalize_model(collection.model):
        checks.append(
            Check(
                "index",
                ERROR,
                f"{where}, {built}, but the embedding model is set to {configured}",
                f"Re-index with `rag index FOLDER --rebuild`, or use `--embed-model {collection.model}`.",
            )
        )
    elif collection.vectors is None:
        checks.append(
            Check(
                "index",
                WARNING,
                f"{where}, {built}; Chroma could not be read",
                "See the chroma check; `rag index FOLDER` re-embeds what is missing.",
            )
        )
    elif collection.vectors != collection.chunks or collection.stale_files:
        checks.append(
            Check(
                "index",
                WARNING,
                f"{where}, {built}; Chroma holds {collection.vectors} vectors "
                f"({collection.stale_files} files waiting for re-embedding)",
                "Run `rag index FOLDER` again: it reconciles Chroma with the catalog.",
            )
        )
    else:
        checks.append(Check("index", OK, f"{where}, {built}, consistent with Chroma"))


CJK_SAMPLE_CHUNKS = 2000
"""Chunks read by the languages check (evenly over the catalog's order: source, then position)."""
CJK_WARN_SHARE = 0.05


def _check_languages(settings: Settings, collection: CollectionStatus | None, checks: list[Check]) -> None:
    """Warn when CJK documents were indexed with an embedding model known to be English-only."""
    from rag.answer.evidence import query_script
    from rag.embed.langs import PULL_FOR_CHINESE, languages
    from rag.store.catalog import Catalog
    from rag.store.layout import layout

    if collection is None or not collection.model or languages(collection.model) != "english" or not collection.chunks:
        return
    if settings.index_dir is None:
        return
    paths = layout(settings.index_dir, settings.chroma_url, settings.collection)
    try:
        catalog = Catalog(paths.catalog, create=False, collection=settings.collection)
    except RagError:
        return
    try:
        step = max(1, collection.chunks // CJK_SAMPLE_CHUNKS)
        seen = cjk = 0
        for n, (_, text, _) in enumerate(catalog.iter_chunks()):
            if n % step == 0:
                seen += 1
                cjk += query_script(text) == "cjk"
    finally:
        catalog.close()
    if seen and cjk / seen >= CJK_WARN_SHARE:
        checks.append(
            Check(
                "languages",
                WARNING,
                f"{cjk / seen:.0%} of the indexed chunks are Chinese/Japanese/Korean, but {collection.model} reads "
                "only "
                "English: dense retrieval cannot rank them (answers fall back on word matches and abstain more)",
                f"`ollama pull {PULL_FOR_CHINESE}` and re-index: "
                f"`rag index FOLDER --rebuild --embed-model {PULL_FOR_CHINESE}`.",
            )
        )


SENTENCE_SAMPLE_CHUNKS = 200
"""Chunks the sentence-vectors check reads to tell an index without them from one whose chunks are all one sentence."""


def _check_sentences(settings: Settings, collection: CollectionStatus | None, checks: list[Check]) -> None:
    """Warn when the index has no sentence vectors although its chunks have several sentences (built before them,
    or with `sentence_vectors` off) while the setting is on: retrieval then ranks by whole-chunk vectors only."""
    from itertools import islice

    from ingest.sentences import sentence_texts
    from rag.store.catalog import Catalog
    from rag.store.layout import layout

    if not settings.sentence_vectors or collection is None or not collection.chunks or settings.index_dir is None:
        return
    paths = layout(settings.index_dir, settings.chroma_url, settings.collection)
    try:
        catalog = Catalog(paths.catalog, create=False, collection=settings.collection)
    except RagError:
        return
    try:
        if catalog.sentence_count():
            return
        sample = [text for _, text, _ in islice(catalog.iter_chunks(), SENTENCE_SAMPLE_CHUNKS)]
    finally:
        catalog.close()
    if any(sentence_texts(text) for text in sample):
        checks.append(
            Check(
                "sentence vectors",
                WARNING,
                "the index has no sentence vectors (built before them, or with sentence_vectors off): retrieval "
                "ranks chunks by their whole-text vectors only",
                "`rag index FOLDER --rebuild` embeds each chunk's sentences too (about 1.7x the embedding time), "
                "or set sentence_vectors = false to keep the index as it is.",
            )
        )


# ---- chat model ----


def _check_chat(settings: Settings, client: Client, server: _Ollama, checks: list[Check]) -> None:
    from rag.answer.llamacpp import check_gguf, is_gguf

    model = settings.chat_model
    if model.strip().lower() == NO_CHAT_MODEL:
        checks.append(Check("chat model", OK, "none: answers are extractive (quoted sentences with citations)"))
        return
    if is_gguf(model):
        try:
            path = check_gguf(model)
        except RagError as exc:
            checks.append(Check("chat model", ERROR, f"{model} cannot run", str(exc)))
            return
        size_mb = path.stat().st_size / 1e6
        checks.append(Check("chat model", OK, f"{path} ({size_mb:.0f} MB) runs in-process with llama.cpp"))
        return
    if not server.up:
        checks.append(
            Check(
                "chat model",
                WARNING,
                f"{model} needs Ollama, which is not reachable: answers are extractive",
                SERVE_FIX,
            )
        )
        return
    if _installed(server, model) is None:
        from rag.ollama.names import is_embedding_only, missing_chat_model_fix

        chat_models = [
            m.name or m.model for m in server.models or [] if not is_embedding_only(m.name or m.model, m.family)
        ]
        checks.append(
            Check(
                "chat model",
                WARNING,
                f"{model} is not installed on Ollama: answers are extractive",
                missing_chat_model_fix(model, chat_models),
            )
        )
        return
    show = _show(client, model)
    detail = f"{model} on Ollama{_facts(show, dims=False)}"
    if show is not None and show.capabilities and "completion" not in show.capabilities:
        from rag.ollama.names import is_embedding_only, not_a_chat_model_message

        chat_models = [
            m.name or m.model for m in server.models or [] if not is_embedding_only(m.name or m.model, m.family)
        ]
        fix = not_a_chat_model_message(model, chat_models).split(": it cannot write answers. ", 1)[-1]
        checks.append(Check("chat model", ERROR, detail + ": cannot generate text", fix))
    elif show is not None and show.context_length and show.context_length < settings.context_tokens + PROMPT_HEADROOM:
        checks.append(
            Check(
                "chat model",
                WARNING,
                detail + f": shorter than the {settings.context_tokens}-token context budget plus the prompt",
                "Choose a model with a longer context.",
            )
        )
    else:
        checks.append(Check("chat model", OK, detail))


# ---- Chroma ----


def _check_chroma(settings: Settings, checks: list[Check]) -> None:
    from rag.store import open_index
    from rag.store.layout import chroma_base_url

    lay = open_index(settings).layout
    if lay.chroma_url is None:
        path = lay.chroma_dir
        state = "exists" if path is not None and path.is_dir() else "created by the first `rag index`"
        checks.append(Check("chroma", OK, f"embedded store at {path} ({state})"))
        return
    url = chroma_base_url(lay.chroma_url)
    reason = _heartbeat(url.rstrip("/"))
    if reason is None:
        checks.append(Check("chroma", OK, f"server at {lay.chroma_url} answers its heartbeat; catalog in {lay.home}"))
    else:
        checks.append(
            Check(
                "chroma",
                ERROR,
                f"server at {lay.chroma_url} does not answer: {reason}",
                "Start it with `chroma run --path DIR --port PORT`, or drop --chroma-url to use the embedded store.",
            )
        )


def _heartbeat(url: str) -> str | None:
    """None when the Chroma server answers GET /api/v2/heartbeat (or v1 for older servers), else why not."""
    reason = "no heartbeat endpoint"
    for path in ("/api/v2/heartbeat", "/api/v1/heartbeat"):
        try:
            response = httpx.get(url + path, timeout=CHROMA_TIMEOUT_S)
        except httpx.HTTPError as exc:
            return str(exc) or type(exc).__name__
        if response.status_code == 200:
            return None
        reason = f"HTTP {response.status_code} from {path}"
    return reason


__all__ = ["Check", "DoctorReport", "EXIT_BROKEN", "EXIT_READY", "EXIT_WARNINGS", "doctor"]
