"""A local HTTP server that speaks Ollama's documented REST API.

Only what ragbot uses: ``GET /api/tags``, ``POST /api/chat``, ``POST
/api/embed`` and ``POST /api/show``. ``/api/chat`` streams newline-delimited
JSON chunks unless the request says ``"stream": false`` (Ollama's default is
to stream), the last chunk carrying ``done`` and the token counts; with a
JSON schema in ``format`` the canned reply must be a JSON object holding the
schema's required keys, as Ollama's constrained sampling guarantees (a 400
otherwise, so a test cannot pass on a reply Ollama would never give).
Unknown models get Ollama's 404 ``{"error": "model 'x' not found"}``.
Embeddings are hashed bags of words, so retrieval over them behaves
sensibly; chat replies are canned. Every request body is recorded for
assertions.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

DIM = 64


def bag_of_words(text: str) -> list[float]:
    vector = np.zeros(DIM, dtype=np.float32)
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
    norm = float(np.linalg.norm(vector)) or 1.0
    return (vector / norm).tolist()


class FakeOllama:
    def __init__(
        self,
        models: list[str],
        reply: str = '{"evidence": [1], "answer": "The talks took place in Moscow."}',
        first_token_logprobs: dict[str, float] | None = None,
        number_logprobs: dict[str, float] | None = None,
    ) -> None:
        self.models = models
        self.reply = reply
        # A server that returns ``logprobs`` when asked (Ollama 0.12.11+): the first
        # token's alternatives; None: an older server, which ignores the request field.
        self.first_token_logprobs = first_token_logprobs
        # ... and, streamed, the alternatives at the reply's first sentence number
        self.number_logprobs = number_logprobs
        self.supports_logprobs = first_token_logprobs is not None or number_logprobs is not None
        self.requests: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

            def _send(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, model: str, logprobs: bool = False) -> None:
                # Ollama streams a reply as NDJSON: a chunk per few tokens, then the summary;
                # asked for logprobs (0.12.11+), a chunk per token with its alternatives.
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.end_headers()
                logprobs = logprobs and fake.supports_logprobs
                if logprobs:
                    pieces = re.findall(r"\w+|\s+|[^\w\s]", fake.reply)
                else:
                    pieces = [fake.reply[i : i + 7] for i in range(0, len(fake.reply), 7)]
                seen = ""
                for piece in pieces:
                    chunk = fake.chunk(model, piece, done=False)
                    if logprobs:
                        first_number = bool(fake.number_logprobs) and "[" in seen and piece.isdigit() and not any(c.isdigit() for c in seen.split("[", 1)[1])
                        top = sorted((fake.number_logprobs or {}).items(), key=lambda kv: -kv[1]) if first_number else []
                        chunk["logprobs"] = [{"token": piece, "logprob": -0.01,
                                              "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}]
                    seen += piece
                    self.wfile.write(json.dumps(chunk).encode() + b"\n")
                    self.wfile.flush()
                self.wfile.write(json.dumps(fake.chunk(model, "", done=True)).encode() + b"\n")

            def do_GET(self) -> None:
                fake.requests.append((self.path, {}))
                if self.path == "/api/tags":
                    self._send(200, {"models": [fake._tag(m) for m in fake.models]})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append((self.path, body))
                model = body.get("model", "")
                if self.path in ("/api/chat", "/api/embed", "/api/show") and not fake.has(model):
                    self._send(404, {"error": f"model '{model}' not found"})
                elif self.path == "/api/chat":
                    schema = body.get("format")
                    if isinstance(schema, dict) and not fake.conforms(schema):
                        self._send(400, {"error": "reply does not match the format schema"})
                    elif body.get("stream", True):
                        self._stream(model, bool(body.get("logprobs")))
                    else:
                        reply = fake.chunk(model, fake.reply, done=True)
                        if body.get("logprobs") and fake.first_token_logprobs:
                            top = sorted(fake.first_token_logprobs.items(), key=lambda kv: -kv[1])[: body.get("top_logprobs", 1)]
                            reply["message"]["content"] = top[0][0]
                            reply["logprobs"] = [{"token": top[0][0], "logprob": top[0][1],
                                                  "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top]}]
                        self._send(200, reply)
                elif self.path == "/api/embed":
                    inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
                    self._send(200, {"model": model, "embeddings": [bag_of_words(t) for t in inputs]})
                elif self.path == "/api/show":
                    self._send(200, {"model_info": {"general.architecture": "qwen2", "qwen2.context_length": 32768}})
                else:
                    self._send(404, {"error": "not found"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def chunk(self, model: str, content: str, done: bool) -> dict:
        chunk = {
            "model": model,
            "created_at": "2026-11-22T10:00:00Z",
            "message": {"role": "assistant", "content": content},
            "done": done,
        }
        if done:
            chunk.update(done_reason="stop", total_duration=1000, prompt_eval_count=10, eval_count=5)
        return chunk

    def conforms(self, schema: dict) -> bool:
        try:
            reply = json.loads(self.reply)
        except json.JSONDecodeError:
            return False
        return isinstance(reply, dict) and all(key in reply for key in schema.get("required", []))

    def has(self, model: str) -> bool:
        # Ollama resolves a name without a tag to ":latest".
        def norm(name: str) -> str:
            return name if ":" in name else name + ":latest"

        return norm(model) in {norm(m) for m in self.models}

    @staticmethod
    def _tag(name: str) -> dict:
        return {
            "name": name,
            "model": name,
            "modified_at": "2026-11-01T00:00:00Z",
            "size": 1,
            "digest": "0" * 64,
            "details": {"format": "gguf", "family": "qwen2", "parameter_size": "1.5B", "quantization_level": "Q4_K_M"},
        }

    def __enter__(self) -> FakeOllama:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
