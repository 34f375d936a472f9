"""Discord faked at its HTTP boundary, for driving discord.py's real objects.

:class:`FakeDiscordHTTP` stands in for the ``aiohttp.ClientSession`` that
discord.py's REST client and interaction webhooks send through: it records
each request (method, path, JSON body) and answers with payloads shaped like
Discord's API (v10). Gateway events are delivered by calling discord.py's own
parsers (``parse_interaction_create``, ``parse_message_create``) with gateway
payloads, which is what the websocket layer does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

APP_ID = 900000000000000001
BOT_ID = 900000000000000002
GUILD_ID = 900000000000000010
CHANNEL_ID = 900000000000000020
OTHER_CHANNEL_ID = 900000000000000021
_ids = itertools.count(910000000000000000)


def next_id() -> int:
    return next(_ids)


def user_payload(user_id: int, name: str, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name,
            "avatar": None, "bot": bot}


def message_payload(channel_id: int, content: str, author: dict, **extra: Any) -> dict:
    return {
        "id": str(next_id()), "channel_id": str(channel_id), "author": author, "content": content,
        "timestamp": "2026-11-22T12:00:00+00:00", "edited_timestamp": None, "tts": False,
        "mention_everyone": False, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "pinned": False, "type": 0, "flags": 0, **extra,
    }


def guild_payload() -> dict:
    return {
        "id": str(GUILD_ID), "name": "test", "owner_id": "1", "unavailable": False,
        "roles": [{"id": str(GUILD_ID), "name": "@everyone", "permissions": "1071698660929",
                   "position": 0, "color": 0, "hoist": False, "managed": False, "mentionable": False}],
        "channels": [
            {"id": str(cid), "type": 0, "name": name, "position": i, "guild_id": str(GUILD_ID),
             "permission_overwrites": []}
            for i, (cid, name) in enumerate(((CHANNEL_ID, "general"), (OTHER_CHANNEL_ID, "random")))
        ],
        "threads": [], "members": [], "member_count": 2, "emojis": [], "stickers": [],
        "features": [], "large": False, "premium_tier": 0, "mfa_level": 0, "verification_level": 0,
        "explicit_content_filter": 0, "default_message_notifications": 0, "system_channel_flags": 0,
        "preferred_locale": "en-US",
    }


def interaction_payload(
    command: str,
    options: dict[str, str] | None = None,
    user_id: int = 1001,
    channel_id: int = CHANNEL_ID,
    guild_id: int | None = GUILD_ID,
    permissions: str = "0",
) -> dict:
    """An INTERACTION_CREATE payload for a slash command."""
    user = user_payload(user_id, f"user{user_id}")
    payload: dict[str, Any] = {
        "id": str(next_id()), "application_id": str(APP_ID), "type": 2, "token": f"itoken{next_id()}",
        "version": 1, "locale": "en-US", "attachment_size_limit": 8388608, "app_permissions": "0",
        "data": {"id": str(next_id()), "name": command, "type": 1,
                 "options": [{"name": k, "type": 3, "value": v} for k, v in (options or {}).items()]},
        "channel": {"id": str(channel_id), "type": 0 if guild_id else 1},
        "channel_id": str(channel_id),
    }
    if guild_id:
        payload["guild_id"] = str(guild_id)
        payload["member"] = {"user": user, "roles": [], "joined_at": "2026-01-01T00:00:00+00:00",
                             "deaf": False, "mute": False, "permissions": permissions, "flags": 0}
    else:
        payload["user"] = user
    return payload


@dataclass
class Sent:
    method: str
    path: str
    body: Any
    response: Any = None
    at: float = field(default_factory=time.monotonic)  # when the bot sent it


class _Response:
    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self._text = json.dumps(body) if body is not None else ""
        self.headers = {"content-type": "application/json"} if body is not None else {}
        self.reason = "OK" if status < 400 else "Error"

    async def text(self, encoding: str = "utf-8") -> str:
        return self._text

    async def json(self) -> Any:
        return json.loads(self._text)

    async def __aenter__(self) -> _Response:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


@dataclass
class FakeDiscordHTTP:
    """Records REST calls; answers like Discord. Set ``fail`` to make a path fail."""

    sent: list[Sent] = field(default_factory=list)
    fail: dict[str, tuple[int, dict]] = field(default_factory=dict)  # path fragment -> (status, body)
    closed: bool = False

    def request(self, method: str, url: str, **kwargs: Any) -> _Response:
        path = urlparse(url).path.removeprefix("/api/v10")
        data = kwargs.get("data")
        body = json.loads(data) if isinstance(data, str) and data else data
        if data is not None and not isinstance(data, str):  # multipart form: payload_json
            body = {"multipart": True}
        sent = Sent(method, path, body)
        self.sent.append(sent)
        for fragment, (status, error) in self.fail.items():
            if fragment in path:
                return _Response(status, error)
        sent.response = self._reply(method, path, body)
        return _Response(200, sent.response)

    def _reply(self, method: str, path: str, body: Any) -> Any:
        parts = path.strip("/").split("/")
        bot = user_payload(BOT_ID, "ragbot", bot=True)
        if path.endswith("/callback"):
            return {"interaction": {"id": parts[1], "type": 2, "response_message_loading": True},
                    "resource": {"type": (body or {}).get("type", 5)}}
        if parts[0] == "applications" and parts[-1] == "commands":
            return []
        if parts[0] == "webhooks" or (parts[0] == "channels" and parts[-1] == "messages"):
            channel = int(parts[1]) if parts[0] == "channels" else CHANNEL_ID
            content = (body or {}).get("content") or ""
            return message_payload(channel, content, bot, embeds=(body or {}).get("embeds", []))
        if parts[0] == "channels" and len(parts) == 4 and parts[2] == "messages" and method == "PATCH":
            content = (body or {}).get("content") or ""  # an edited message, returned whole
            return {**message_payload(int(parts[1]), content, bot, embeds=(body or {}).get("embeds", [])),
                    "id": parts[3]}
        if parts[0] == "channels" and parts[-1] == "threads":
            return {"id": str(next_id()), "type": 11, "guild_id": str(GUILD_ID), "parent_id": parts[1],
                    "name": (body or {}).get("name", "thread"), "owner_id": str(BOT_ID),
                    "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                        "archive_timestamp": "2026-11-22T12:00:00+00:00", "locked": False},
                    "message_count": 0, "member_count": 1, "rate_limit_per_user": 0, "flags": 0}
        return None

    # What discord.py calls on the session besides request().
    async def close(self) -> None:
        self.closed = True

    def messages(self) -> list[dict]:
        """Every message body the bot posted or edited (interaction replies included)."""
        bodies = []
        for sent in self.sent:
            if not isinstance(sent.body, dict):
                continue
            body = sent.body.get("data") if sent.path.endswith("/callback") else sent.body
            if isinstance(body, dict) and "content" in body:
                bodies.append(body)
        return bodies

    def texts(self) -> list[str]:
        return [body["content"] for body in self.messages() if body.get("content")]


async def settle() -> None:
    """Wait until the bot's event and command tasks have all finished."""
    current = asyncio.current_task()
    for _ in range(200):
        pending = [
            t for t in asyncio.all_tasks()
            if t is not current and not t.done()
            and t.get_name().startswith(("CommandTree", "discord.py"))
        ]
        if not pending:
            return
        await asyncio.wait(pending, timeout=5)
