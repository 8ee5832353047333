"""Checking the Ed25519 signature of every e-signature for ``audit verify``, many at once.

Issue 25: ``audit verify`` used to remember, in a file signed with the workstation's own key,
which signatures it had checked, and skipped them the next time — anyone holding the
workstation's files could write that file for signatures they forged. Every signature is checked
on every run now. 300 000 of them are most of a run's work, so they are checked in batches, in
worker processes (one per processor) while the record pass goes on, when there are many; the
first that does not verify, in the order of the record pass, is reported.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from concurrent.futures import Executor, Future
from typing import Any

log = logging.getLogger(__name__)

BATCH = 5000
#: Fewer signatures than this are checked in this process (starting workers costs more).
PARALLEL_FROM = 20_000


def check_batch(items: Sequence[tuple[str, str, str]]) -> list[int]:
    """The positions in ``items`` (public key, signature hash, signature; hex) whose signature
    does not verify."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from doseprep.store.keys import SIGNATURE_PREFIX

    keys: dict[str, Any] = {}
    bad = []
    for number, (public, signature_hash, signature) in enumerate(items):
        if not isinstance(signature, str) or len(signature) != 128 or not (
                signature.isdigit() or signature.islower()):
            bad.append(number)  # not as the program writes it (lower-case hex): altered
            continue
        try:
            key = keys.get(public)
            if key is None:
                key = keys[public] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
            key.verify(bytes.fromhex(signature), SIGNATURE_PREFIX + signature_hash.encode("ascii"))
        except (InvalidSignature, ValueError, TypeError):
            bad.append(number)
    return bad


class SignatureChecks:
    """Signatures to check, added in the order of the record pass; :meth:`first_failure` after."""

    def __init__(self, expected: int) -> None:
        self._parallel = expected >= PARALLEL_FROM and (os.cpu_count() or 1) > 1
        self._pool: Executor | None = None
        self._items: list[tuple[str, str, str]] = []
        self._notes: list[tuple[str, str]] = []
        self._done: list[tuple[list[tuple[str, str]], Future[list[int]] | list[int]]] = []

    def add(self, where: str, message: str, public: str, signature_hash: str,
            signature: str) -> None:
        self._items.append((public, signature_hash, signature))
        self._notes.append((where, message))
        if len(self._items) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._items:
            return
        items, notes = self._items, self._notes
        self._items, self._notes = [], []
        if self._parallel and self._pool is None:
            self._pool = _pool()
            self._parallel = self._pool is not None
        if self._pool is not None:
            self._done.append((notes, self._pool.submit(check_batch, items)))
        else:
            self._done.append((notes, check_batch(items)))

    def first_failure(self) -> tuple[str, str] | None:
        """(where, message) of the first signature that does not verify, or None."""
        try:
            self._flush()
            for notes, result in self._done:
                bad = result.result() if isinstance(result, Future) else result
                if bad:
                    return notes[bad[0]]
            return None
        finally:
            self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def _pool() -> Executor | None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    try:
        return ProcessPoolExecutor(max_workers=os.cpu_count(),
                                   mp_context=multiprocessing.get_context(method))
    except (OSError, ValueError, NotImplementedError) as exc:  # pragma: no cover - no processes
        log.warning("signatures checked in this process: %s", exc)
        return None
