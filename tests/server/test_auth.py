"""Auth: a non-loopback bind needs a token (the CLI refuses without one); with a token every API request must
carry it, from any client, while the web page's own files stay reachable."""

from __future__ import annotations

import httpx
import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.server import NEEDS_TOKEN, check_bind, is_loopback

TOKEN = "s3cret-token"


def test_non_loopback_bind_without_token_is_refused(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--index", str(tmp_path / "index")])
    assert result.exit_code == 2
    assert "without a token" in result.stderr and "--token" in result.stderr
    with pytest.raises(ValueError, match="--token"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", TOKEN)
    check_bind("127.0.0.1", None)
    assert NEEDS_TOKEN.startswith("Refusing")
    assert not is_loopback("0.0.0.0") and is_loopback("::1")


def test_every_face_needs_the_token(token_server) -> None:
    url = token_server.url
    assert token_server.host == "0.0.0.0"
    ask = {"question": "How are models downloaded?"}
    for method, path, body in (
        ("POST", "/v1/ask", ask),
        ("GET", "/v1/status", None),
        ("GET", "/api/tags", None),
        ("POST", "/v1/chat/completions", {"model": "rag", "messages": []}),
        ("GET", "/docs", None),
        ("GET", "/openapi.json", None),
    ):
        refused = httpx.request(method, f"{url}{path}", json=body, timeout=60)
        assert refused.status_code == 401, path
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = httpx.request(method, f"{url}{path}", json=body, headers={"Authorization": "Bearer nope"}, timeout=60)
        assert wrong.status_code == 401, path
    assert "Authorization: Bearer" in httpx.get(f"{url}/v1/status", timeout=60).json()["message"]
    assert "error" in httpx.get(f"{url}/api/tags", timeout=60).json()
    ok = httpx.post(f"{url}/v1/ask", json=ask, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
    assert ok.status_code == 200 and ok.json()["answerable"]
    assert httpx.get(f"{url}/", timeout=60).status_code == 200  # the page itself; it sends the token it is given
    assert httpx.get(f"{url}/static/app.js", timeout=60).status_code == 200


def test_official_clients_send_the_token(token_server) -> None:
    ollama = pytest.importorskip("ollama")
    openai = pytest.importorskip("openai")
    denied = ollama.Client(host=token_server.url)
    with pytest.raises(ollama.ResponseError) as caught:
        denied.list()
    assert caught.value.status_code == 401
    allowed = ollama.Client(host=token_server.url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert [m.model for m in allowed.list().models] == ["rag:default"]
    client = openai.OpenAI(base_url=f"{token_server.url}/v1", api_key=TOKEN, max_retries=0, timeout=60)
    assert [m.id for m in client.models.list()] == ["rag:default"]
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{token_server.url}/v1", api_key="wrong", max_retries=0, timeout=60).models.list()
