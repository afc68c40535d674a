"""One Chroma client per store location, shared by every store of the process; chromadb errors as StoreError."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rag.errors import StoreError
from rag.store import clients
from rag.store.chroma import ChromaStore
from rag.store.chroma_errors import CollectionMissing, StoreUnreachable, chroma_errors
from support.paths import free_port


def test_stores_opened_by_many_threads_at_once_share_one_client(tmp_path: Path) -> None:
    barrier = threading.Barrier(8)
    stores: list[ChromaStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        barrier.wait(timeout=60)
        try:
            stores.append(ChromaStore(tmp_path / "idx", None, "shared-client"))
        except BaseException as exc:  # the finding
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors[0]
    key = clients.client_key(tmp_path / "idx", None)
    assert len({id(s._client) for s in stores}) == 1 and clients.users(key) == 8
    for store in stores[:-1]:
        store.close()
    assert stores[-1].count() == 0  # the last user still works
    stores[-1].close()
    assert clients.users(key) == 0


def test_chroma_errors_name_the_collection_and_the_fix(tmp_path: Path) -> None:
    from chromadb.errors import NotFoundError

    with pytest.raises(CollectionMissing, match="rag index FOLDER"):
        with chroma_errors("query", name="docs", where=tmp_path):
            raise NotFoundError("Collection [x] does not exist")
    with pytest.raises(CollectionMissing):  # a collection a rebuild is dropping while the call runs
        with chroma_errors("query", name="docs", where=tmp_path):
            raise RuntimeError("Error getting collection: Missing field: [Missing metadata segment]")
    with pytest.raises(StoreError, match="upsert into 'docs'") as err:
        with chroma_errors("upsert into 'docs'", name="docs", where=tmp_path):
            raise ValueError("bad batch")
    assert isinstance(err.value.__cause__, ValueError)


def test_an_unreachable_server_is_a_store_error_with_the_url_and_the_fix(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(StoreUnreachable, match="chroma run") as err:
        ChromaStore(tmp_path, url, "default")
    assert url in str(err.value)
    assert clients.users(clients.client_key(tmp_path, url)) == 0
