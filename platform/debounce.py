"""Debounced work: a burst of requests for the same piece of work (a company's member count changed
twenty times) becomes one run of its task.

A `Debounce` keeps, in a Redis sorted set, one entry per key (a company id) scored with the time its
work is due. The first request since the work last ran makes it due `window` seconds later; later
requests in the burst leave that time alone (ZADD NX), so a steady stream of requests still runs the
work once per window instead of never. `defer` moves an entry later, never earlier (ZADD GT). Beat's
short sweep takes the due keys - read and removed in one Lua script, so two sweeps never take the same
key - and publishes one task for each; a request made while that task runs adds the key again, and
the next run serves it.

Why not a task with a countdown per request, or per burst: the Redis broker holds a countdown task
unacknowledged on the worker until it is due, and re-delivers it after its visibility timeout
(saas_platform/celery_config.py), and a worker killed meanwhile takes the countdown with it. Here
nothing waits inside the broker: what is due is in Redis until a sweep publishes it.

What this does not promise: the entries live in Redis (the cache's database), so a Redis that lost
them, or a published task that was lost, leaves the work to the owning app's own drift check
(subscriptions: the seat drift sweep). Requests are recorded after the transaction commits, and a
Redis error is logged, never raised: the change that asked for the work has committed and stays.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

# Take (read and remove) at most ARGV[2] members scored at most ARGV[1], atomically.
_TAKE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""


@functools.lru_cache(maxsize=4)
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)


@dataclass(frozen=True)
class Debounce:
    name: str
    window_setting: str  # the setting holding the window, in seconds (read at each request)

    @property
    def _key(self) -> str:
        return f"debounce:{self.name}"

    @property
    def _client(self) -> redis.Redis:
        return _redis(settings.REDIS_CACHE_URL)

    def request(self, key: int) -> None:
        """Ask for the work on `key` once the current transaction commits (at once outside one)."""
        transaction.on_commit(lambda: self._add(key, time.time() + getattr(settings, self.window_setting), nx=True))

    def defer(self, key: int, *, until: float) -> None:
        """Make the work on `key` due at `until` (a Unix time) or later, whatever was asked before."""
        transaction.on_commit(lambda: self._add(key, until, gt=True))

    def _add(self, key: int, due: float, **flags: bool) -> None:
        try:
            self._client.zadd(self._key, {str(key): due}, **flags)
        except redis.RedisError:
            logger.warning("debounce %s: could not record %s; left to its drift check", self.name, key, exc_info=True)

    def take_due(self, *, limit: int = 500) -> list[int]:
        """The keys whose work is due, removed from the set: the caller publishes their tasks."""
        taken = self._client.register_script(_TAKE_DUE)(keys=[self._key], args=[time.time(), limit])
        return [int(member) for member in taken]

    def due_at(self, key: int) -> float | None:
        """When the work on `key` is due (a Unix time), or None when nothing is asked."""
        return self._client.zscore(self._key, str(key))
