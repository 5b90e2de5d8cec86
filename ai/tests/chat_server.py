"""A small OpenAI-compatible /v1/chat/completions server (real HTTP for the real client)."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def completion(
    content: str | None = None, *, tool_calls: list[dict[str, Any]] | None = None, refusal: str | None = None
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {"id": f"call_{i}", "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["args"])}}
            for i, c in enumerate(tool_calls)
        ]
    if refusal:
        message["refusal"] = refusal
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def reply_json(reply: str, citations: list[int] | None = None, self_check: float = 0.95) -> dict[str, Any]:
    return completion(json.dumps({"reply": reply, "citations": citations or [1], "self_check": self_check}))


class FakeChatServer:
    """Answers each request with the next scripted item: a completion dict, "garbage",
    ("sleep", seconds) or ("status", code). `modes` answers by path instead, always the same:
    `url(mode)` is a base URL whose requests get `modes[mode]` (`by_mode` counts them)."""

    def __init__(self, modes: dict[str, Any] | None = None) -> None:
        self.script: list[Any] = []
        self.modes = modes or {}
        self.by_mode: Counter[str] = Counter()
        self.requests: list[dict[str, Any]] = []
        self.raw: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                server.raw.append(raw)
                server.requests.append(json.loads(raw))
                mode = self.path.strip("/").split("/")[0]
                server.by_mode[mode] += 1
                if mode in server.modes:
                    item = server.modes[mode]
                else:
                    item = server.script.pop(0) if server.script else "garbage"
                status = 200
                if isinstance(item, tuple) and item[0] == "sleep":
                    time.sleep(item[1])
                    item = reply_json("late")
                if isinstance(item, tuple) and item[0] == "status":
                    status, item = item[1], {"error": {"message": "server error", "type": "server_error"}}
                body = b"this is not json {" if item == "garbage" else json.dumps(item).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def url(self, mode: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{mode}/v1"

    def __enter__(self) -> FakeChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
