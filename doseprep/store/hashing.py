"""The Argon2id cost of password hashing and of sealing signing keys, by profile.

Its own module so that accounts (:mod:`doseprep.store.users`) and keys
(:mod:`doseprep.store.keys`) share it without importing each other.

The ``test`` profile (8 KiB, one pass: about 20 000 guesses a second against a stolen sealed key)
exists for the test suite alone. Asking for it is refused unless :data:`TEST_SUITE_ENV` also
holds :data:`TEST_SUITE_VALUE`, which only ``tests/conftest.py`` sets (issue 25: the variable
alone was accepted silently in normal use).
"""

from __future__ import annotations

import os

from doseprep.store.errors import UserError

HASH_PROFILE_ENV = "DOSEPREP_PASSWORD_HASH_PROFILE"
#: The switch that allows the ``test`` profile: set by the test suite, never by a lab.
TEST_SUITE_ENV = "DOSEPREP_TEST_SUITE_ONLY"
TEST_SUITE_VALUE = "weak password hashing for the doseprep test suite"
#: Argon2id parameters by profile (time_cost, memory_cost KiB, parallelism).
HASH_PROFILES: dict[str, tuple[int, int, int]] = {
    "default": (3, 65536, 4),  # RFC 9106 low-memory recommendation, argon2-cffi's default
    "test": (1, 8, 1),  # for the test suite only: fast, and far too weak for real passwords
}


def hash_profile() -> str:
    """The Argon2 profile in force: ``default``, or ``test`` when chosen explicitly."""
    name = os.environ.get(HASH_PROFILE_ENV, "default").strip() or "default"
    if name not in HASH_PROFILES:
        raise UserError(f"{HASH_PROFILE_ENV}={name} is not a password hashing profile "
                        f"({', '.join(HASH_PROFILES)}).")
    if name == "test" and os.environ.get(TEST_SUITE_ENV) != TEST_SUITE_VALUE:
        raise UserError(f"{HASH_PROFILE_ENV}=test makes passwords and signing keys easy to "
                        "guess and is only for doseprep's own test suite; remove the setting.")
    return name
