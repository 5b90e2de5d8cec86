from __future__ import annotations

import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ai.providers.local import LocalEmbeddingProvider
from ai.tests.tools_support import verified


@pytest.fixture
def ticket(ticket):
    """The shared e-mail ticket, its sender authenticated: the tools tests act for a proven customer
    (ai/tests/test_identity_agent.py covers the unproven ones)."""
    return verified(ticket)


class EmbedCounter:
    def __init__(self) -> None:
        self.calls = 0
        self.texts: list[str] = []


@pytest.fixture
def embed_counter(monkeypatch):
    """Counts the local model's embed calls (and texts) while still running the real model."""
    counter = EmbedCounter()
    original = LocalEmbeddingProvider.embed

    def counting(self, texts):
        counter.calls += 1
        counter.texts.extend(texts)
        return original(self, texts)

    monkeypatch.setattr(LocalEmbeddingProvider, "embed", counting)
    return counter


def fake_vector(text: str, dims: int) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words point the same way."""
    vector = [0.0] * dims
    for word in text.lower().split():
        word = "".join(ch for ch in word if ch.isalnum())
        if word:
            vector[zlib.crc32(word.encode()) % dims] += 1.0
    if not any(vector):
        vector[0] = 1.0
    return vector


class FakeEmbeddingsServer:
    """A small OpenAI-compatible /v1/embeddings server on 127.0.0.1 (real HTTP, real client)."""

    def __init__(self, dims: int = 16) -> None:
        self.dims = dims
        self.returned_dims: int | None = None  # set to return a wrong dimension
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.auth_headers: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length))
                server.requests.append(payload)
                server.auth_headers.append(self.headers.get("Authorization", ""))
                if server.delay:
                    time.sleep(server.delay)
                if self.path != "/v1/embeddings":
                    self.send_response(404)
                    self.end_headers()
                    return
                inputs = payload["input"]
                inputs = [inputs] if isinstance(inputs, str) else inputs
                size = server.returned_dims or server.dims
                body = json.dumps(
                    {
                        "object": "list",
                        "model": payload["model"],
                        "data": [
                            {"object": "embedding", "index": i, "embedding": fake_vector(text, size)}
                            for i, text in enumerate(inputs)
                        ],
                        "usage": {"prompt_tokens": 1, "total_tokens": 1},
                    }
                ).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeEmbeddingsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def embeddings_server():
    with FakeEmbeddingsServer() as server:
        yield server
