"""`rag serve`'s app on a real socket for tests and benchmarks: uvicorn in a thread, started and stopped with a
deadline."""

from __future__ import annotations

import threading
import time
from typing import Any

from support.paths import free_port

START_DEADLINE_S = 60.0


class RunningServer:
    """`with RunningServer(rag, token=...) as server:` serves `rag.server.app.create_app(rag, ...)` at `server.url`."""

    def __init__(
        self, rag: Any, *, host: str = "127.0.0.1", token: str | None = None, max_body: int | None = None
    ) -> None:
        import uvicorn

        from rag.server.app import DEFAULT_MAX_BODY_BYTES, create_app

        self.host, self.port = host, free_port()
        app = create_app(rag, token=token, max_body=max_body or DEFAULT_MAX_BODY_BYTES)
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="rag-serve-test", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningServer:
        self.thread.start()
        deadline = time.monotonic() + START_DEADLINE_S
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
