"""Password hashing: one class per algorithm behind one registry, in Django's encoded formats.

Every encoded password names its algorithm and work factors (`pbkdf2_sha256$1200000$salt$hash`),
so users imported from Django keep their passwords, old hashes keep verifying after the default
changes, and `check_password` reports when a stored hash should be upgraded on the next login.
Hashers are looked up through the registry on every call, so registering an instance under a
built-in name (a cheaper one in tests, a counting one to assert on) changes what the functions use.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextvars
import hashlib
import hmac
import math
import re
import secrets
import string
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any, ClassVar, TypeGuard, TypeVar

from core.config import allow_password_hasher, get_app_settings, get_settings
from core.exceptions import HashingBusy, ImproperlyConfigured

T = TypeVar("T")

__all__ = [
    "UNUSABLE_PASSWORD_PREFIX",
    "Argon2Hasher",
    "BCryptHasher",
    "FastTestHasher",
    "PBKDF2Hasher",
    "PBKDF2SHA1Hasher",
    "PasswordHasher",
    "ScryptHasher",
    "acheck_password",
    "amake_password",
    "arun_dummy_hash",
    "check_password",
    "configure_password_hashing",
    "get_password_hasher",
    "identify_hasher",
    "is_password_usable",
    "make_password",
    "make_unusable_password",
    "password_bytes",
    "register_password_hasher",
    "reset_password_hashers",
    "run_dummy_hash",
    "set_default_password_hasher",
    "unregister_password_hasher",
]

#: Django's marker for "this account has no password" (`set_unusable_password`).
UNUSABLE_PASSWORD_PREFIX = "!"  # noqa: S105 (a marker, not a password)
UNUSABLE_PASSWORD_SUFFIX_LENGTH = 40

RANDOM_STRING_CHARS = string.ascii_letters + string.digits
#: Salts carry at least this many bits (Django's `salt_entropy`): 22 characters of 62.
SALT_ENTROPY = 128


def get_random_string(length: int, allowed_chars: str = RANDOM_STRING_CHARS) -> str:
    """A cryptographically random string, as Django makes salts and unusable passwords."""
    return "".join(secrets.choice(allowed_chars) for _ in range(length))


def make_salt() -> str:
    """A Django-style salt: 22 random letters and digits (131 bits)."""
    return get_random_string(math.ceil(SALT_ENTROPY / math.log2(len(RANDOM_STRING_CHARS))))


def _salt_is_weak(salt: str | bytes) -> bool:
    """Whether a salt of this length holds less than SALT_ENTROPY bits (Django's rule)."""
    return len(salt) * math.log2(len(RANDOM_STRING_CHARS)) < SALT_ENTROPY


def _check_salt(salt: str) -> None:
    """Refuse salts that would break the `$`-separated format, like Django's hashers."""
    if not salt or "$" in salt:
        raise ValueError("salt must be provided and cannot contain $.")


def _check_password_type(password: object) -> str:
    """Accept only text passwords: bytes or None reaching a hasher is a caller bug."""
    if not isinstance(password, str):
        raise TypeError(f"Password must be a string, got {type(password).__name__}.")
    return password


def password_bytes(password: str) -> bytes:
    """`password` as UTF-8; an unpaired surrogate ("\\ud800") is kept, never an error.

    Valid text encodes exactly as Django's `force_bytes`; a lone surrogate still costs a full
    hash, so a check (or the dummy hash for an unknown account) answers and takes the same.
    """
    return password.encode("utf-8", "surrogatepass")


def _positive_int(text: str) -> int:
    """Parse an ASCII decimal work factor, refusing signs, spaces and zero."""
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"not a work factor: {text!r}")
    value = int(text)
    if value < 1:
        raise ValueError("work factors are positive")
    return value


def _weaker(stored: tuple[int, ...], configured: tuple[int, ...]) -> bool:
    """Whether re-hashing `stored` costs with `configured` only ever raises them (an upgrade).

    A stored hash stronger in any parameter is kept: re-hashing it would lower that one.
    """
    return stored != configured and all(a <= b for a, b in zip(stored, configured, strict=True))


def _b64decode(text: str) -> bytes:
    """Decode standard base64, with or without the `=` padding argon2 strips."""
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


class PasswordHasher:
    """Base class: subclasses set `name` and implement `hash` and `verify`."""

    #: The algorithm's name: the registry key and, for built-ins, the encoded string's prefix.
    name: ClassVar[str] = ""
    #: Other prefixes this hasher reads (Django's `bcrypt_sha256` for the bcrypt hasher).
    aliases: ClassVar[tuple[str, ...]] = ()

    def hash(self, password: str) -> str:
        """Hash `password` with a fresh salt and the configured work factors."""
        raise NotImplementedError("subclasses of PasswordHasher must provide hash()")

    def verify(self, password: str, encoded: str) -> bool:
        """Whether `password` matches `encoded`; False (never an error) for a malformed hash."""
        raise NotImplementedError("subclasses of PasswordHasher must provide verify()")

    def needs_rehash(self, encoded: str) -> bool:
        """Whether a valid `encoded` was made with outdated parameters and should be replaced."""
        return False

    def handles(self, encoded: str) -> bool:
        """Whether `encoded` is in this hasher's format; prefix-less custom formats accept all."""
        return True

    def harden_runtime(self, password: str, encoded: str) -> None:
        """Spend the work a failed check against a weaker `encoded` skipped (Django's idea)."""


class PBKDF2Hasher(PasswordHasher):
    """PBKDF2-HMAC-SHA256, Django's default: `pbkdf2_sha256$<iterations>$<salt>$<b64 hash>`."""

    name = "pbkdf2_sha256"
    #: Django 6.1's count (6.0: 1,200,000); OWASP asks for at least 600,000 for PBKDF2-HMAC-SHA256.
    iterations: int = 1_500_000
    digest = "sha256"

    def __init__(self, iterations: int | None = None) -> None:
        if iterations is not None:
            self.iterations = iterations

    def _derive(self, password: str, salt: str, iterations: int) -> bytes:
        return hashlib.pbkdf2_hmac(self.digest, password_bytes(password), salt.encode(), iterations)

    def encode(self, password: str, salt: str, iterations: int | None = None) -> str:
        """The encoded hash of `password` with this exact salt (known-answer tests use it)."""
        _check_password_type(password)
        _check_salt(salt)
        iterations = iterations or self.iterations
        derived = base64.b64encode(self._derive(password, salt, iterations)).decode("ascii")
        return f"{self.name}${iterations}${salt}${derived}"

    def decode(self, encoded: str) -> tuple[int, str, bytes]:
        """Split `encoded` into iterations, salt and raw hash; ValueError when it is not ours."""
        algorithm, iterations, salt, derived = encoded.split("$", 3)
        if algorithm != self.name or not salt:
            raise ValueError("not a hash of this algorithm")
        return _positive_int(iterations), salt, _b64decode(derived)

    def hash(self, password: str) -> str:
        """Hash `password` with a fresh salt and the configured iterations."""
        return self.encode(password, make_salt())

    def verify(self, password: str, encoded: str) -> bool:
        """Recompute with the stored salt and iterations and compare in constant time."""
        try:
            iterations, salt, expected = self.decode(encoded)
            derived = self._derive(password, salt, iterations)
        except (ValueError, TypeError, OverflowError, binascii.Error):
            return False
        return hmac.compare_digest(derived, expected)

    def needs_rehash(self, encoded: str) -> bool:
        """True for fewer iterations than configured or a short salt; more are kept (never down)."""
        try:
            iterations, salt, _ = self.decode(encoded)
        except (ValueError, binascii.Error):
            return True
        return iterations < self.iterations or _salt_is_weak(salt)

    def handles(self, encoded: str) -> bool:
        return encoded.startswith(f"{self.name}$")

    def harden_runtime(self, password: str, encoded: str) -> None:
        """Run the iterations a weaker stored hash lacks, so failures take the configured time."""
        try:
            iterations, salt, _ = self.decode(encoded)
        except (ValueError, binascii.Error):
            return
        if self.iterations > iterations:
            self._derive(password, salt, self.iterations - iterations)


class PBKDF2SHA1Hasher(PBKDF2Hasher):
    """PBKDF2-HMAC-SHA1, in Django's default list: `pbkdf2_sha1$...` hashes verify, then upgrade."""

    name = "pbkdf2_sha1"
    digest = "sha1"


class FastTestHasher(PBKDF2Hasher):
    """PBKDF2 with one iteration, FOR TEST SUITES ONLY: it keeps tests that create users fast."""

    name = "fast_test"
    iterations = 1

    def hash(self, password: str) -> str:
        """Hash like PBKDF2, but refuse to when the settings say production."""
        if get_settings().is_production:
            raise ImproperlyConfigured(
                "The fast_test password hasher is for test suites only; "
                "set AUTH_PASSWORD_HASHER to pbkdf2_sha256, argon2, bcrypt or scrypt"
            )
        return super().hash(password)


def _load_library(module: str, extra: str) -> ModuleType:
    """Import a hashing library on first use, failing with how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"The {module} library is needed for this password hasher: "
            f"pip install 'core-framework[{extra}]' (or pip install {extra})"
        ) from error


_ARGON2_TYPES = {"argon2id": "ID", "argon2i": "I", "argon2d": "D"}
_ARGON2_PARAMS = re.compile(r"m=(\d+),t=(\d+),p=(\d+)")


class Argon2Hasher(PasswordHasher):
    """Argon2id through argon2-cffi: `argon2$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>`."""

    name = "argon2"
    # Django's defaults (100 MiB, 2 passes, 8 lanes): well above OWASP's minimum (m=19456 KiB,
    # t=2, p=1), and hashes imported from Django verify without being rehashed. Each hash
    # holds 100 MiB while it runs; lower memory_cost with an instance where memory is tight.
    time_cost: int = 2
    memory_cost: int = 102_400
    parallelism: int = 8
    hash_len: int = 32

    def __init__(
        self,
        *,
        time_cost: int | None = None,
        memory_cost: int | None = None,
        parallelism: int | None = None,
    ) -> None:
        if time_cost is not None:
            self.time_cost = time_cost
        if memory_cost is not None:
            self.memory_cost = memory_cost
        if parallelism is not None:
            self.parallelism = parallelism

    def encode(self, password: str, salt: str) -> str:
        """The encoded hash of `password` with this exact salt, byte for byte as Django makes it."""
        from argon2 import low_level

        _check_password_type(password)
        _check_salt(salt)
        data: bytes = low_level.hash_secret(
            password_bytes(password),
            salt.encode(),
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
            hash_len=self.hash_len,
            type=low_level.Type.ID,
        )
        return self.name + data.decode("ascii")

    def decode(self, encoded: str) -> tuple[str, int, int, int, int, bytes, bytes]:
        """Variant, version, m, t, p, salt and raw hash of `encoded`; ValueError if not ours."""
        parts = encoded.split("$")
        if len(parts) == 5:  # argon2 1.0 strings carry no version field
            parts.insert(2, "v=16")
        algorithm, variant, version, params, salt, derived = parts
        match = _ARGON2_PARAMS.fullmatch(params)
        if algorithm != self.name or variant not in _ARGON2_TYPES or not match:
            raise ValueError("not a hash of this algorithm")
        if version not in ("v=16", "v=19"):
            raise ValueError("unknown argon2 version")
        memory_cost, time_cost, parallelism = (_positive_int(value) for value in match.groups())
        return (
            variant,
            int(version[2:]),
            memory_cost,
            time_cost,
            parallelism,
            _b64decode(salt),
            _b64decode(derived),
        )

    def hash(self, password: str) -> str:
        """Hash `password` with a fresh salt and the configured costs."""
        return self.encode(password, make_salt())

    def verify(self, password: str, encoded: str) -> bool:
        """Recompute with the stored variant and costs and compare in constant time."""
        from argon2 import exceptions, low_level

        try:
            variant, version, memory_cost, time_cost, parallelism, salt, expected = self.decode(
                encoded
            )
            derived = low_level.hash_secret_raw(
                password_bytes(password),
                salt,
                time_cost=time_cost,
                memory_cost=memory_cost,
                parallelism=parallelism,
                hash_len=len(expected),
                type=getattr(low_level.Type, _ARGON2_TYPES[variant]),
                version=version,
            )
        except (ValueError, TypeError, binascii.Error, MemoryError, exceptions.HashingError):
            return False
        return hmac.compare_digest(derived, expected)

    def needs_rehash(self, encoded: str) -> bool:
        """True unless argon2id v19 with costs at least the configured ones (never down)."""
        try:
            variant, version, memory_cost, time_cost, _lanes, salt, derived = self.decode(encoded)
        except (ValueError, binascii.Error):
            return True
        return (
            (variant, version) != ("argon2id", 19)
            or _weaker(
                (memory_cost, time_cost, len(derived)),
                (self.memory_cost, self.time_cost, self.hash_len),
            )
            or _salt_is_weak(salt)
        )

    def handles(self, encoded: str) -> bool:
        return encoded.startswith(f"{self.name}$")


class BCryptHasher(PasswordHasher):
    """bcrypt over the SHA-256 of the password, Django's `bcrypt_sha256$$2b$<rounds>$...`.

    The pre-hash means passwords longer than bcrypt's 72 bytes are never silently truncated.
    Django's plain `bcrypt$$2b$...` strings still verify, but a password over 72 bytes never
    matches one (bcrypt would have compared only its first 72 bytes), and they are rehashed.
    """

    name = "bcrypt"
    aliases = ("bcrypt_sha256",)
    #: Django's default cost (2**12 rounds); OWASP's minimum is 10.
    rounds: int = 12
    max_password_bytes = 72

    def __init__(self, rounds: int | None = None) -> None:
        if rounds is not None:
            self.rounds = rounds

    @staticmethod
    def _library() -> ModuleType:
        return _load_library("bcrypt", "bcrypt")

    @staticmethod
    def _prehash(password: str) -> bytes:
        return binascii.hexlify(hashlib.sha256(password_bytes(password)).digest())

    def encode(self, password: str, salt: bytes) -> str:
        """The encoded hash of `password` with a bcrypt salt such as `b"$2b$12$<22 chars>"`."""
        _check_password_type(password)
        data: bytes = self._library().hashpw(self._prehash(password), salt)
        return f"bcrypt_sha256${data.decode('ascii')}"

    def hash(self, password: str) -> str:
        """Hash `password` with a fresh salt and the configured rounds."""
        return self.encode(password, self._library().gensalt(self.rounds))

    def verify(self, password: str, encoded: str) -> bool:
        """Re-run bcrypt with the stored salt and rounds and compare in constant time."""
        bcrypt = self._library()
        algorithm, _, data = encoded.partition("$")
        try:
            if algorithm == "bcrypt_sha256":
                secret = self._prehash(password)
            elif algorithm == "bcrypt":
                secret = password_bytes(password)
                if len(secret) > self.max_password_bytes:
                    return False
            else:
                return False
            stored = data.encode("ascii")
            derived: bytes = bcrypt.hashpw(secret, stored)
        except (ValueError, TypeError):
            return False
        return hmac.compare_digest(derived, stored)

    def needs_rehash(self, encoded: str) -> bool:
        """True for plain `bcrypt$` strings and for rounds other than the configured ones."""
        algorithm, _, data = encoded.partition("$")
        parts = data.split("$")
        if algorithm != "bcrypt_sha256" or len(parts) != 4:
            return True
        try:
            return _positive_int(parts[2]) < self.rounds  # more rounds are kept (never down)
        except ValueError:
            return True

    def handles(self, encoded: str) -> bool:
        return encoded.startswith(("bcrypt$", "bcrypt_sha256$"))


class ScryptHasher(PasswordHasher):
    """scrypt from hashlib (OpenSSL): `scrypt$<n>$<salt>$<r>$<p>$<b64 hash>`, Django's format."""

    name = "scrypt"
    # OWASP's minimum: N=2**17 (128 MiB per hash), r=8, p=1. Django's default N is 2**14.
    work_factor: int = 2**17
    block_size: int = 8
    parallelism: int = 1
    dklen = 64
    #: hashlib.scrypt refuses a `maxmem` of 2 GiB or more.
    max_memory = 2**31 - 1

    def __init__(
        self,
        *,
        work_factor: int | None = None,
        block_size: int | None = None,
        parallelism: int | None = None,
    ) -> None:
        if work_factor is not None:
            self.work_factor = work_factor
        if block_size is not None:
            self.block_size = block_size
        if parallelism is not None:
            self.parallelism = parallelism

    def _derive(self, password: str, salt: str, n: int, r: int, p: int) -> bytes:
        # scrypt holds 128*n*r bytes; twice that leaves room for OpenSSL's own buffers.
        maxmem = min(2 * 128 * n * r, self.max_memory)
        return hashlib.scrypt(
            password_bytes(password),
            salt=salt.encode(),
            n=n,
            r=r,
            p=p,
            maxmem=maxmem,
            dklen=self.dklen,
        )

    def encode(self, password: str, salt: str) -> str:
        """The encoded hash of `password` with this exact salt and the configured costs."""
        _check_password_type(password)
        _check_salt(salt)
        n, r, p = self.work_factor, self.block_size, self.parallelism
        derived = base64.b64encode(self._derive(password, salt, n, r, p)).decode("ascii")
        return f"{self.name}${n}${salt}${r}${p}${derived}"

    def decode(self, encoded: str) -> tuple[int, str, int, int, bytes]:
        """n, salt, r, p and raw hash of `encoded`; ValueError when it is not ours."""
        algorithm, n, salt, r, p, derived = encoded.split("$", 5)
        if algorithm != self.name or not salt:
            raise ValueError("not a hash of this algorithm")
        return _positive_int(n), salt, _positive_int(r), _positive_int(p), _b64decode(derived)

    def hash(self, password: str) -> str:
        """Hash `password` with a fresh salt and the configured costs."""
        return self.encode(password, make_salt())

    def verify(self, password: str, encoded: str) -> bool:
        """Recompute with the stored salt and costs and compare in constant time."""
        try:
            n, salt, r, p, expected = self.decode(encoded)
            derived = self._derive(password, salt, n, r, p)
        except (ValueError, TypeError, binascii.Error, MemoryError, OverflowError):
            return False
        return hmac.compare_digest(derived, expected)

    def needs_rehash(self, encoded: str) -> bool:
        """True when n, r or p are below the configured ones (never down) or the salt is short."""
        try:
            n, salt, r, p, _ = self.decode(encoded)
        except (ValueError, binascii.Error):
            return True
        configured = (self.work_factor, self.block_size, self.parallelism)
        return _weaker((n, r, p), configured) or _salt_is_weak(salt)

    def handles(self, encoded: str) -> bool:
        return encoded.startswith(f"{self.name}$")


def _builtin_hashers() -> dict[str, PasswordHasher]:
    hashers: list[PasswordHasher] = [
        PBKDF2Hasher(),
        PBKDF2SHA1Hasher(),
        Argon2Hasher(),
        BCryptHasher(),
        ScryptHasher(),
        FastTestHasher(),
    ]
    return {hasher.name: hasher for hasher in hashers}


_hashers: dict[str, PasswordHasher] = _builtin_hashers()
_default_name: str | None = None


def register_password_hasher(hasher: PasswordHasher) -> PasswordHasher:
    """Make `hasher` available under its `name`, replacing any hasher of that name."""
    name = getattr(hasher, "name", "")
    if not isinstance(name, str) or not name or "$" in name:
        raise ImproperlyConfigured(
            f"{type(hasher).__name__} needs a `name`: a non-empty string without '$'"
        )
    _hashers[name] = hasher
    for accepted in (name, *hasher.aliases):
        allow_password_hasher(accepted)  # AUTH_PASSWORD_HASHER may now name it
    return hasher


def unregister_password_hasher(name: str) -> None:
    """Remove the hasher registered as `name`; a built-in name goes back to the built-in."""
    builtin = _builtin_hashers().get(name)
    if builtin is not None:
        _hashers[name] = builtin
    else:
        _hashers.pop(name, None)


def set_default_password_hasher(name: str | None) -> None:
    """Hash new passwords with `name` (checked on use); None means Settings.auth_password_hasher.

    For scripts and apps built without `settings=`: an app given `CoreApp(settings=...)` hashes
    with its AUTH_PASSWORD_HASHER (tests switch it with `core.testing.override_settings`).
    """
    global _default_name
    _default_name = name


def reset_password_hashers() -> None:
    """Restore the built-in registry and the settings' default (test isolation)."""
    global _hashers
    _hashers = _builtin_hashers()
    set_default_password_hasher(None)


def _lookup(name: str) -> PasswordHasher | None:
    hasher = _hashers.get(name)
    if hasher is None:
        hasher = next((h for h in _hashers.values() if name in h.aliases), None)
    return hasher


def get_password_hasher(name: str | None = None) -> PasswordHasher:
    """The hasher registered as `name` (or an alias); None gives the configured default."""
    if name is None:
        if _default_name is None or get_app_settings() is not None:
            name = get_settings().auth_password_hasher
        else:
            name = _default_name
    hasher = _lookup(name)
    if hasher is None:
        known = ", ".join(sorted(_hashers))
        raise ImproperlyConfigured(f"Unknown password hasher {name!r}; known hashers: {known}")
    return hasher


def is_password_usable(encoded: str | None) -> TypeGuard[str]:
    """False for a missing or empty hash and for `make_unusable_password()`'s marker."""
    return (
        isinstance(encoded, str)
        and encoded != ""
        and not encoded.startswith(UNUSABLE_PASSWORD_PREFIX)
    )


def identify_hasher(encoded: str | None) -> PasswordHasher | None:
    """The hasher for `encoded`, by the prefix before its first `$`.

    When the prefix names no registered hasher the configured default is asked whether the
    string is in its format: that is how a prefix-less custom format (the guide's `salt$hash`)
    is found, while a foreign or corrupted string under a built-in default gives None.
    """
    if not is_password_usable(encoded):
        return None
    prefix = encoded.partition("$")[0]
    hasher = _lookup(prefix)
    if hasher is not None:
        return hasher
    default = get_password_hasher()
    return default if default.handles(encoded) else None


def make_password(password: str | None, hasher: str | None = None) -> str:
    """Hash `password` with the default (or the named) hasher; None gives an unusable password."""
    if password is None:
        return make_unusable_password()
    return get_password_hasher(hasher).hash(_check_password_type(password))


def make_unusable_password() -> str:
    """A value no password matches, distinct per call, in Django's format (`!` + 40 chars)."""
    return UNUSABLE_PASSWORD_PREFIX + get_random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH)


def run_dummy_hash(password: str) -> None:
    """Hash once with the default hasher, so a missing account costs as much as a wrong password."""
    get_password_hasher().hash(password if isinstance(password, str) else "")


def check_password(password: str | None, encoded: str | None) -> tuple[bool, bool]:
    """(valid, needs_upgrade) for `password` against the stored `encoded`.

    needs_upgrade is only ever True with valid: the stored hash used another algorithm than
    the default, or the default's parameters changed; the caller then stores
    `make_password(password)`. A missing, unusable, unknown or corrupted hash is (False, False)
    after hashing once with the default hasher, so timing does not tell such accounts apart.
    Raises only ImproperlyConfigured (an unknown default, a hashing library not installed).
    """
    default = get_password_hasher()
    hasher = identify_hasher(encoded)
    if hasher is None or not isinstance(password, str) or not isinstance(encoded, str):
        run_dummy_hash(password if isinstance(password, str) else "")
        return False, False
    try:
        valid = hasher.verify(password, encoded) is True
        if not valid and hasher is default:
            hasher.harden_runtime(password, encoded)
    except ImproperlyConfigured:
        raise
    except Exception:  # a custom hasher failing on a malformed hash: a mismatch, not a crash
        valid = False
    if not valid:
        return False, False
    if hasher.name != default.name:
        return True, True
    try:
        return True, bool(default.needs_rehash(encoded))
    except Exception:  # an unreadable but valid hash: store a fresh one
        return True, True


class HashingPool:
    """Runs password hashing on at most `concurrency` threads, with at most `queue` waiting.

    Unbounded, every login could start a hash at once (argon2: 100 MiB each); a full queue
    raises `HashingBusy` (a 503 with Retry-After) instead of letting work pile up.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self.executor = ThreadPoolExecutor(concurrency, thread_name_prefix="core-password-hash")
        self.pending = 0
        self._lock = threading.Lock()

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        with self._lock:
            if self.pending >= self.concurrency + self.queue:
                raise HashingBusy("Too many password checks at once; try again shortly.")
            self.pending += 1
        try:  # in the caller's context, as asyncio.to_thread: the app's settings pick the hasher
            context = contextvars.copy_context()
            return await asyncio.get_running_loop().run_in_executor(
                self.executor, context.run, function, *args
            )
        finally:
            with self._lock:
                self.pending -= 1


_pool: HashingPool | None = None


def configure_password_hashing(concurrency: int | None = None, queue: int | None = None) -> None:
    """Size the hashing pool (default: AUTH_HASHING_CONCURRENCY and AUTH_HASHING_QUEUE)."""
    global _pool
    settings = get_settings()
    old, _pool = (
        _pool,
        HashingPool(
            concurrency or settings.auth_hashing_concurrency,
            settings.auth_hashing_queue if queue is None else queue,
        ),
    )
    if old is not None:
        old.executor.shutdown(wait=False)


def reset_password_hashing() -> None:
    """Forget `configure_password_hashing`: the next hash makes the pool from the settings."""
    global _pool
    old, _pool = _pool, None
    if old is not None:
        old.executor.shutdown(wait=False)


def hashing_pool() -> HashingPool:
    """The pool async hashing runs on, made from the settings on first use."""
    if _pool is None:
        configure_password_hashing()
    assert _pool is not None
    return _pool


async def amake_password(password: str | None, hasher: str | None = None) -> str:
    """`make_password` on the hashing pool, so hashing never blocks the event loop."""
    return await hashing_pool().run(make_password, password, hasher)


async def acheck_password(password: str | None, encoded: str | None) -> tuple[bool, bool]:
    """`check_password` on the hashing pool, so verifying never blocks the event loop."""
    return await hashing_pool().run(check_password, password, encoded)


async def arun_dummy_hash(password: str) -> None:
    """`run_dummy_hash` on the hashing pool, for "no such user" paths in async code."""
    await hashing_pool().run(run_dummy_hash, password)
