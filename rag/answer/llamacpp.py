"""In-process chat with a GGUF model through llama-cpp-python (the optional `[local]` extra).

`--chat-model gguf:PATH` selects it. `LlamaCppChat` has the call shape of `rag.ollama.Client.chat` and returns the
same `ChatResponse` objects, so the answer code treats it as a drop-in client; `open_chat_backend` picks one.
A JSON schema passed as `format` becomes a llama.cpp grammar, so the reply follows the answer schema as with Ollama.

    >>> backend = open_chat_backend(Settings.resolve(chat_model="gguf:/models/qwen.gguf"), client)  # doctest: +SKIP
    >>> backend.chat("gguf:/models/qwen.gguf", [{"role": "user", "content": "Hi"}]).message.content  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import os
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rag.errors import ContextLengthExceeded, RagError
from rag.ollama import ChatResponse, Message, ShowResponse, stats_from_wire

if TYPE_CHECKING:
    from rag.config import Settings
    from rag.ollama import Client

GGUF_PREFIX = "gguf:"
DEFAULT_NUM_CTX = 4096
"""Context tokens when the request sets no options.num_ctx (Ollama's own default, 2048, is too small for RAG)."""
DEFAULT_NUM_PREDICT = 1024
"""Most tokens generated when the request sets no options.num_predict: a grammar-constrained small model can otherwise
emit JSON whitespace until the context is full."""
MISSING_LLAMA_CPP = (
    "Chat model {model!r} runs in-process with llama-cpp-python, which is not installed: "
    "run `pip install 'ollama-rag[local]'` (or use an Ollama model name)."
)
MISSING_FILE = "GGUF model file not found: {path}. Pass --chat-model gguf:PATH with the path of a .gguf file."
NOT_GGUF = "{path} is not a GGUF model file (it does not start with the GGUF magic bytes)."

# Ollama options -> create_chat_completion keyword arguments.
_SAMPLING_OPTIONS = {
    "temperature": "temperature",
    "seed": "seed",
    "top_p": "top_p",
    "top_k": "top_k",
    "min_p": "min_p",
    "stop": "stop",
    "repeat_penalty": "repeat_penalty",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "num_predict": "max_tokens",
}
_OVERFLOW = re.compile(r"exceed context window|context window", re.I)


def is_gguf(model: str) -> bool:
    """True for a chat model spelled `gguf:PATH`."""
    return model.startswith(GGUF_PREFIX)


def gguf_path(model: str) -> Path:
    """The file named by `gguf:PATH` (`~` expanded). ValueError for another spelling."""
    if not is_gguf(model):
        raise ValueError(f"not a gguf:PATH model: {model!r}")
    return Path(model[len(GGUF_PREFIX) :]).expanduser()


def llama_cpp_available() -> bool:
    """True when llama_cpp can be imported."""
    try:
        importlib.import_module("llama_cpp")
    except ImportError:
        return False
    return True


def check_gguf(model: str) -> Path:
    """The GGUF file of `gguf:PATH` after checking llama_cpp imports and the file exists and is GGUF.

    Raises: RagError saying the fix (install the [local] extra, or fix the path).
    """
    path = gguf_path(model)
    if not llama_cpp_available():
        raise RagError(MISSING_LLAMA_CPP.format(model=model))
    if not path.is_file():
        raise RagError(MISSING_FILE.format(path=path))
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise RagError(NOT_GGUF.format(path=path))
    return path


def open_chat_backend(settings: Settings, client: Client) -> Client | LlamaCppChat:
    """The object whose `.chat(...)` answers with `settings.chat_model`: `client` for an Ollama model name (and for
    "none"), or a `LlamaCppChat` for `gguf:PATH`. The GGUF file is checked now and loaded on the first chat.

    Raises: RagError when llama-cpp-python is missing or the file is missing or not GGUF.
    """
    if not is_gguf(settings.chat_model):
        return client
    return LlamaCppChat(check_gguf(settings.chat_model), seed=settings.seed)


class LlamaCppChat:
    """A GGUF chat model run in-process; `.chat()` mirrors `rag.ollama.Client.chat`.

    Args:
        path: the .gguf file.
        seed: default sampling seed (options.seed wins).
        threads: CPU threads (default: all cores).
    """

    def __init__(self, path: str | Path, *, seed: int = 0, threads: int | None = None) -> None:
        self.path = Path(path)
        self.seed = seed
        self.threads = threads or os.cpu_count() or 1
        self._llama: Any = None
        self._n_ctx = 0
        self._lock = threading.Lock()

    @property
    def model(self) -> str:
        """The model name this backend answers to: `gguf:PATH`."""
        return GGUF_PREFIX + str(self.path)

    def __repr__(self) -> str:
        return f"LlamaCppChat({str(self.path)!r})"

    def __enter__(self) -> LlamaCppChat:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Free the loaded model (the next chat loads it again)."""
        with self._lock:
            if self._llama is not None:
                self._llama.close()
            self._llama = None

    def is_reachable(self, timeout: float = 0.0) -> bool:
        """Always True: nothing to reach (mirrors `Client.is_reachable`)."""
        return True

    def show(self, model: str | None = None) -> ShowResponse:
        """Context length and metadata of the GGUF file (mirrors `Client.show`; loads the model)."""
        llama, _ = self._load(None)
        meta = dict(llama.metadata)
        arch = meta.get("general.architecture", "")

        def number(key: str) -> int | None:
            value = meta.get(f"{arch}.{key}")
            return int(value) if value is not None and str(value).isdigit() else None

        return ShowResponse(
            model=self.model,
            family=arch,
            parameter_size=meta.get("general.size_label", ""),
            context_length=number("context_length"),
            embedding_length=number("embedding_length"),
            capabilities=["completion"],
            model_info=meta,
        )

    def chat(
        self,
        model: str,
        messages: Sequence[Message | Mapping[str, Any]],
        *,
        format: str | Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        keep_alive: str | float | None = None,
        stream: bool = False,
    ) -> ChatResponse | Iterator[ChatResponse]:
        """Chat like `Client.chat`: `format` "json" or a JSON schema constrains the reply through a grammar;
        options temperature, seed, top_p, top_k, stop, num_predict and num_ctx apply; keep_alive 0 unloads the
        model afterwards. Durations in the result are milliseconds, as from `Client.chat`. A streamed reply's last
        chunk has no prompt_tokens (llama.cpp does not report it when streaming).

        Raises: ContextLengthExceeded when the prompt does not fit num_ctx; RagError when the model cannot load.
        """
        if not is_gguf(model) or gguf_path(model).resolve() != self.path.resolve():
            raise ValueError(f"this backend runs {self.model!r}, not {model!r}")
        wire = [m.to_dict() if isinstance(m, Message) else dict(m) for m in messages]
        wire = [{"role": m.get("role", "user"), "content": m.get("content") or ""} for m in wire]
        kwargs = self._completion_kwargs(format, options or {})
        num_ctx = (options or {}).get("num_ctx")
        unload = keep_alive in (0, "0", "0s", "0m")
        if stream:
            return self._stream(wire, kwargs, num_ctx, unload)
        return self._complete(wire, kwargs, num_ctx, unload)

    # ---- helpers ----

    def _completion_kwargs(self, format: str | Mapping[str, Any] | None, options: Mapping[str, Any]) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"seed": self.seed, "max_tokens": DEFAULT_NUM_PREDICT}
        kwargs |= {_SAMPLING_OPTIONS[k]: v for k, v in options.items() if k in _SAMPLING_OPTIONS and v is not None}
        if kwargs.get("max_tokens") is not None and kwargs["max_tokens"] < 0:
            kwargs["max_tokens"] = None  # Ollama's -1: until the context is full
        if format == "json":
            kwargs["response_format"] = {"type": "json_object"}
        elif isinstance(format, Mapping):
            kwargs["response_format"] = {"type": "json_object", "schema": dict(format)}
        elif format is not None:
            raise ValueError(f"format must be 'json' or a JSON schema, not {format!r}")
        return kwargs

    def _load(self, num_ctx: int | None) -> tuple[Any, int]:
        """The Llama object (reloaded when num_ctx changes) and nanoseconds spent loading it now."""
        wanted = int(num_ctx or self._n_ctx or DEFAULT_NUM_CTX)
        with self._lock:
            if self._llama is not None and wanted == self._n_ctx:
                return self._llama, 0
            if self._llama is not None:
                self._llama.close()
                self._llama = None
            llama_cpp = importlib.import_module("llama_cpp")
            start = time.perf_counter_ns()
            try:
                self._llama = llama_cpp.Llama(
                    model_path=str(self.path), n_ctx=wanted, n_threads=self.threads, seed=self.seed, verbose=False
                )
            except (ValueError, RuntimeError, OSError) as exc:
                raise RagError(f"llama.cpp could not load {self.path}: {exc}") from exc
            self._n_ctx = wanted
            return self._llama, time.perf_counter_ns() - start

    def _run(
        self, wire: list[dict[str, str]], kwargs: dict[str, Any], num_ctx: int | None, stream: bool
    ) -> tuple[Any, int]:
        llama, load_ns = self._load(num_ctx)
        try:
            return llama.create_chat_completion(messages=wire, stream=stream, **kwargs), load_ns
        except ValueError as exc:
            if _OVERFLOW.search(str(exc)):
                raise ContextLengthExceeded(
                    f"The prompt does not fit the context of {self.path.name} ({self._n_ctx} tokens): {exc}. "
                    "Raise options.num_ctx or retrieve fewer chunks."
                ) from exc
            raise

    def _complete(
        self, wire: list[dict[str, str]], kwargs: dict[str, Any], num_ctx: int | None, unload: bool
    ) -> ChatResponse:
        start = time.perf_counter_ns()
        try:
            reply, load_ns = self._run(wire, kwargs, num_ctx, stream=False)
        finally:
            if unload:
                self.close()
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        total = time.perf_counter_ns() - start
        return self._response(
            content=choice["message"].get("content") or "",
            done=True,
            done_reason=_done_reason(choice.get("finish_reason")),
            total_duration=total,
            load_duration=load_ns,
            prompt_eval_count=usage.get("prompt_tokens"),
            eval_count=usage.get("completion_tokens"),
            # llama.cpp does not split prompt reading from generation in a non-streamed call: both durations stay
            # None rather than label the sum as generation time (total_duration, model_ms once parsed, has it).
        )

    def _stream(
        self, wire: list[dict[str, str]], kwargs: dict[str, Any], num_ctx: int | None, unload: bool
    ) -> Iterator[ChatResponse]:
        start = time.perf_counter_ns()
        chunks, load_ns = self._run(wire, kwargs, num_ctx, stream=True)  # errors before the first chunk raise here
        return self._stream_chunks(chunks, start, load_ns, unload)

    def _stream_chunks(
        self, chunks: Iterator[dict[str, Any]], start: int, load_ns: int, unload: bool
    ) -> Iterator[ChatResponse]:
        pieces = 0
        first_ns: int | None = None
        finish: str | None = None
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                finish = choice.get("finish_reason") or finish
                text = (choice.get("delta") or {}).get("content")
                if text:
                    pieces += 1
                    first_ns = first_ns or time.perf_counter_ns()
                    yield self._response(content=text)
        finally:
            if unload:
                self.close()
        end = time.perf_counter_ns()
        first = first_ns or end
        yield self._response(
            content="",
            done=True,
            done_reason=_done_reason(finish),
            total_duration=end - start,
            load_duration=load_ns,
            prompt_eval_duration=first - start - load_ns,
            eval_count=pieces,  # llama.cpp streams one token per piece; it reports no prompt token count here
            eval_duration=end - first,
        )

    def _response(self, *, content: str, **stats: Any) -> ChatResponse:
        """A reply; `stats` in Ollama's wire terms (nanoseconds, `*_count`), converted as `Client` converts them."""
        created = datetime.now(timezone.utc).isoformat()
        return ChatResponse(
            model=self.model,
            created_at=created,
            message=Message(role="assistant", content=content),
            **stats_from_wire(stats),
        )


def _done_reason(finish: str | None) -> str:
    """llama.cpp's finish_reason in Ollama's words ("stop" or "length")."""
    return "length" if finish == "length" else "stop"


__all__ = [
    "DEFAULT_NUM_CTX",
    "DEFAULT_NUM_PREDICT",
    "GGUF_PREFIX",
    "LlamaCppChat",
    "check_gguf",
    "gguf_path",
    "is_gguf",
    "llama_cpp_available",
    "open_chat_backend",
]
