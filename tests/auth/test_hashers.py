"""Password hashers: Django-format known answers, upgrades, malformed hashes, timing and async."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import sys
import threading

import argon2.low_level
import bcrypt
import pytest

from core.auth import (
    Argon2Hasher,
    BCryptHasher,
    FastTestHasher,
    PasswordHasher,
    PBKDF2Hasher,
    ScryptHasher,
    acheck_password,
    amake_password,
    check_password,
    configure_auth,
    get_password_hasher,
    identify_hasher,
    is_password_usable,
    make_password,
    make_unusable_password,
    register_password_hasher,
    reset_auth_config,
    run_dummy_hash,
    set_default_password_hasher,
    unregister_password_hasher,
)
from core.config import Settings, set_settings
from core.exceptions import ImproperlyConfigured
from core.testing import reset_framework_state

# Django's own test vector (tests/auth_tests/test_hashers.py, PBKDF2 at Django 6.0's 1,200,000).
DJANGO_PBKDF2 = "pbkdf2_sha256$1200000$seasalt$6sTlFi4QohxXLuZigqDIUNX8xG9NxrTmV8+flFQdBqE="
# Django's own scrypt vector: make_password("lètmein", "seasalt", "scrypt") with N=2**14.
DJANGO_SCRYPT = (
    "scrypt$16384$seasalt$8$1$Qj3+9PPyRjSJIebHnG81TMjsqtaIGxNQG/aEB/NY"
    "afTJ7tibgfYz71m0ldQESkXFRkdVCBhhY8mx7rQwite/Pw=="
)
# Django's test_argon2_version_upgrade vector ("secret", Django's costs, 16-byte hash).
DJANGO_ARGON2_SECRET = (
    "argon2$argon2id$v=19$m=102400,t=2,p=8$Y041dExhNkljRUUy$TMa6A8fPJhCAUXRhJXCXdw"
)
# Django's legacy argon2i vectors (test_argon2): without and with a version field.
DJANGO_ARGON2I_V10 = (
    "argon2$argon2i$m=8,t=1,p=1$c29tZXNhbHQ$gwQOXSNhxiOxPOA0+PY10P9QFO"
    "4NAYysnqRt1GSQLE55m+2GYDt9FEjPMHhP2Cuf0nOEXXMocVrsJAtNSsKyfg"
)
DJANGO_ARGON2I_V13 = "argon2$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$YC9+jJCrQhs5R6db7LlN8Q"
# Argon2PasswordHasher().encode("Parity-Pass-2026 ü", "abcdefghijklmnopqrstuv") in Django.
DJANGO_ARGON2_PARITY = (
    "argon2$argon2id$v=19$m=102400,t=2,p=8$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dg"
    "$IgorAEoC45Hed6TrnrYvCyIvYcj3785+rmJayoEyW88"
)
# Django bcrypt strings (djangohashers' cross-checks of Django 1.9) for "ExjGmyUT73bFoT".
BCRYPT_PASSWORD = "ExjGmyUT73bFoT"
DJANGO_BCRYPT_SHA256 = "bcrypt_sha256$$2b$12$LZSJchsWG/DrBy1erNs4eeYo6tZNlLFQmONdxN9HPesa1EyXVcTXK"
DJANGO_BCRYPT = "bcrypt$$2b$12$LZSJchsWG/DrBy1erNs4ee31eJ7DaWiuwhDOC7aqIyqGGggfu6Y/."

SALT22 = "abcdefghijklmnopqrstuv"


@pytest.fixture(autouse=True)
def _restore_hashers() -> None:
    """Every test starts with the built-in registry and the settings' default hasher.

    `reset_framework_state` also lifts the suite's fast test hasher; the suite's
    `framework_state` fixture resets everything again after the test.
    """
    reset_framework_state()


@pytest.fixture
def cheap() -> None:
    """Register low-cost instances under the built-in names, default pbkdf2_sha256."""
    register_password_hasher(PBKDF2Hasher(iterations=1000))
    register_password_hasher(Argon2Hasher(time_cost=1, memory_cost=64, parallelism=1))
    register_password_hasher(BCryptHasher(rounds=4))
    register_password_hasher(ScryptHasher(work_factor=2**8))
    set_default_password_hasher("pbkdf2_sha256")


# --- known answers -------------------------------------------------------------------------


def test_pbkdf2_matches_djangos_published_vector_at_real_cost() -> None:
    assert PBKDF2Hasher.iterations == 1_200_000
    raw = hashlib.pbkdf2_hmac("sha256", "lètmein".encode(), b"seasalt", 1_200_000)
    assert DJANGO_PBKDF2.endswith("$" + base64.b64encode(raw).decode())
    assert PBKDF2Hasher().encode("lètmein", "seasalt") == DJANGO_PBKDF2
    # Valid, and upgraded on login: "seasalt" has less entropy than Django's 22-character salts.
    assert check_password("lètmein", DJANGO_PBKDF2) == (True, True)


def test_pbkdf2_independently_computed_django_string(cheap: None) -> None:
    raw = hashlib.pbkdf2_hmac("sha256", b"correct horse", SALT22.encode(), 1000)
    encoded = f"pbkdf2_sha256$1000${SALT22}${base64.b64encode(raw).decode()}"
    assert isinstance(identify_hasher(encoded), PBKDF2Hasher)
    assert check_password("correct horse", encoded) == (True, False)
    assert check_password("correct horsf", encoded) == (False, False)


def test_pbkdf2_make_password_is_djangos_format(cheap: None) -> None:
    encoded = make_password("lètmein")
    assert re.fullmatch(r"pbkdf2_sha256\$1000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=", encoded)
    assert make_password("lètmein") != encoded  # fresh salt each time


def test_argon2_matches_django_and_the_library_at_real_cost() -> None:
    made_by_library = "argon2" + argon2.low_level.hash_secret(
        "Parity-Pass-2026 ü".encode(),
        SALT22.encode(),
        time_cost=2,
        memory_cost=102400,
        parallelism=8,
        hash_len=32,
        type=argon2.low_level.Type.ID,
    ).decode("ascii")
    assert made_by_library == DJANGO_ARGON2_PARITY
    assert Argon2Hasher().encode("Parity-Pass-2026 ü", SALT22) == DJANGO_ARGON2_PARITY
    set_default_password_hasher("argon2")
    assert check_password("Parity-Pass-2026 ü", DJANGO_ARGON2_PARITY) == (True, False)
    # Django's older 16-byte hash verifies too, and is upgraded to the 32-byte length.
    assert check_password("secret", DJANGO_ARGON2_SECRET) == (True, True)


def test_argon2_legacy_argon2i_strings_verify_and_upgrade() -> None:
    set_default_password_hasher("argon2")
    for encoded in (DJANGO_ARGON2I_V10, DJANGO_ARGON2I_V13):
        assert check_password("secret", encoded) == (True, True)
        assert check_password("wrong", encoded) == (False, False)


def test_argon2_round_trip_and_format(cheap: None) -> None:
    encoded = make_password("lètmein", hasher="argon2")
    assert re.fullmatch(
        r"argon2\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]{30}\$[A-Za-z0-9+/]{43}", encoded
    )
    set_default_password_hasher("argon2")
    assert check_password("lètmein", encoded) == (True, False)
    assert check_password("lètmeinz", encoded) == (False, False)


def test_argon2_default_parameters_meet_owasp_minimum() -> None:
    hasher = Argon2Hasher()
    assert hasher.memory_cost >= 19456 and hasher.time_cost >= 2 and hasher.parallelism >= 1


def test_bcrypt_django_strings_at_real_cost() -> None:
    set_default_password_hasher("bcrypt")
    assert BCryptHasher.rounds >= 12
    assert check_password(BCRYPT_PASSWORD, DJANGO_BCRYPT_SHA256) == (True, False)
    # Django's plain BCryptPasswordHasher strings verify, and are moved to bcrypt_sha256.
    assert check_password(BCRYPT_PASSWORD, DJANGO_BCRYPT) == (True, True)
    assert check_password(BCRYPT_PASSWORD + "x", DJANGO_BCRYPT_SHA256) == (False, False)


def test_bcrypt_sha256_string_made_with_the_library(cheap: None) -> None:
    salt = bcrypt.gensalt(4)
    prehashed = binascii.hexlify(hashlib.sha256("lètmein".encode()).digest())
    encoded = "bcrypt_sha256$" + bcrypt.hashpw(prehashed, salt).decode()
    assert BCryptHasher(rounds=4).encode("lètmein", salt) == encoded
    set_default_password_hasher("bcrypt")
    assert isinstance(identify_hasher(encoded), BCryptHasher)
    assert check_password("lètmein", encoded) == (True, False)
    assert check_password("lètmeinz", encoded) == (False, False)


def test_bcrypt_long_passwords_are_never_truncated(cheap: None) -> None:
    first, second = "a" * 72 + "X" * 8, "a" * 72 + "Y" * 8
    set_default_password_hasher("bcrypt")
    encoded = make_password(first)
    assert encoded.startswith("bcrypt_sha256$$2b$04$")
    assert check_password(first, encoded) == (True, False)
    assert check_password(second, encoded) == (False, False)
    assert check_password(first[:72], encoded) == (False, False)


def test_plain_bcrypt_refuses_passwords_over_72_bytes(cheap: None) -> None:
    plain = "bcrypt$" + bcrypt.hashpw(b"a" * 72, bcrypt.gensalt(4)).decode()
    set_default_password_hasher("bcrypt")
    assert check_password("a" * 72, plain) == (True, True)
    # bcrypt itself would compare only the first 72 bytes: these are refused instead.
    assert check_password("a" * 72 + "X" * 8, plain) == (False, False)
    multibyte = "é" * 36  # 72 bytes
    plain_multibyte = "bcrypt$" + bcrypt.hashpw(multibyte.encode(), bcrypt.gensalt(4)).decode()
    assert check_password(multibyte, plain_multibyte) == (True, True)
    assert check_password(multibyte + "é", plain_multibyte) == (False, False)


def test_scrypt_matches_djangos_published_vector() -> None:
    raw = hashlib.scrypt("lètmein".encode(), salt=b"seasalt", n=2**14, r=8, p=1, dklen=64)
    assert DJANGO_SCRYPT.endswith("$" + base64.b64encode(raw).decode())
    assert ScryptHasher(work_factor=2**14).encode("lètmein", "seasalt") == DJANGO_SCRYPT
    set_default_password_hasher("scrypt")
    # Valid; upgraded because the default N is 2**17 (and the salt is short).
    assert check_password("lètmein", DJANGO_SCRYPT) == (True, True)
    assert check_password("lètmeinz", DJANGO_SCRYPT) == (False, False)


def test_scrypt_real_cost_round_trip() -> None:
    hasher = ScryptHasher()
    assert (hasher.work_factor, hasher.block_size, hasher.parallelism) == (2**17, 8, 1)
    encoded = hasher.hash("lètmein")
    assert re.fullmatch(r"scrypt\$131072\$[A-Za-z0-9]{22}\$8\$1\$[A-Za-z0-9+/]{86}==", encoded)
    set_default_password_hasher("scrypt")
    assert check_password("lètmein", encoded) == (True, False)


def test_scrypt_string_made_with_hashlib(cheap: None) -> None:
    raw = hashlib.scrypt(b"pw", salt=SALT22.encode(), n=2**8, r=8, p=1, dklen=64)
    encoded = f"scrypt$256${SALT22}$8$1${base64.b64encode(raw).decode()}"
    set_default_password_hasher("scrypt")
    assert check_password("pw", encoded) == (True, False)
    assert check_password("pW", encoded) == (False, False)


# --- round trips and the registry ------------------------------------------------------------


@pytest.mark.parametrize("name", ["pbkdf2_sha256", "argon2", "bcrypt", "scrypt", "fast_test"])
@pytest.mark.parametrize("password", ["lètmein", "", " ", "pässwörd with spaces 🔑"])
def test_round_trip(cheap: None, name: str, password: str) -> None:
    set_default_password_hasher(name)
    encoded = make_password(password)
    assert is_password_usable(encoded)
    assert identify_hasher(encoded) is get_password_hasher(name)
    assert check_password(password, encoded) == (True, False)
    assert check_password(password + "x", encoded) == (False, False)


def test_get_password_hasher_defaults_to_settings() -> None:
    assert isinstance(get_password_hasher(), PBKDF2Hasher)
    set_settings(Settings(auth_password_hasher="scrypt"))
    assert isinstance(get_password_hasher(), ScryptHasher)
    assert get_password_hasher("bcrypt_sha256") is get_password_hasher("bcrypt")


def test_unknown_hasher_name_lists_the_known_ones() -> None:
    with pytest.raises(ImproperlyConfigured, match=r"'md5'.*argon2, bcrypt, fast_test"):
        get_password_hasher("md5")
    set_default_password_hasher("md5")
    with pytest.raises(ImproperlyConfigured, match="pbkdf2_sha256"):
        make_password("x")


def test_register_refuses_a_nameless_hasher() -> None:
    with pytest.raises(ImproperlyConfigured):
        register_password_hasher(PasswordHasher())


def test_unregister_restores_builtins() -> None:
    register_password_hasher(PBKDF2Hasher(iterations=10))
    unregister_password_hasher("pbkdf2_sha256")
    restored = get_password_hasher("pbkdf2_sha256")
    assert isinstance(restored, PBKDF2Hasher) and restored.iterations == 1_200_000
    register_password_hasher(CustomHasher())
    unregister_password_hasher("custom_sha512")
    with pytest.raises(ImproperlyConfigured):
        get_password_hasher("custom_sha512")


def test_configure_auth_sets_the_default_hasher(cheap: None) -> None:
    configure_auth(secret_key="k" * 40, password_hasher="scrypt")
    assert make_password("x").startswith("scrypt$256$")


# --- upgrades ----------------------------------------------------------------------------------


def test_rising_iterations_ask_for_an_upgrade(cheap: None) -> None:
    encoded = make_password("lètmein")
    register_password_hasher(PBKDF2Hasher(iterations=2000))
    assert check_password("lètmein", encoded) == (True, True)
    assert check_password("wrong", encoded) == (False, False)  # never upgrade on a bad password
    assert check_password("lètmein", make_password("lètmein")) == (True, False)


def test_changed_default_algorithm_asks_for_an_upgrade(cheap: None) -> None:
    encoded = make_password("lètmein")
    set_default_password_hasher("argon2")
    assert check_password("lètmein", encoded) == (True, True)
    assert make_password("lètmein").startswith("argon2$argon2id$")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (Argon2Hasher(time_cost=1, memory_cost=64, parallelism=1), Argon2Hasher(time_cost=2)),
        (Argon2Hasher(time_cost=1, memory_cost=64, parallelism=1), Argon2Hasher(memory_cost=72)),
        (BCryptHasher(rounds=4), BCryptHasher(rounds=5)),
        (ScryptHasher(work_factor=2**8), ScryptHasher(work_factor=2**9)),
        (ScryptHasher(work_factor=2**8), ScryptHasher(work_factor=2**8, block_size=4)),
    ],
)
def test_changed_parameters_ask_for_an_upgrade(old: PasswordHasher, new: PasswordHasher) -> None:
    register_password_hasher(old)
    set_default_password_hasher(old.name)
    encoded = make_password("lètmein")
    assert check_password("lètmein", encoded) == (True, False)
    assert new.needs_rehash(encoded) is True
    assert old.needs_rehash(encoded) is False


def test_weaker_stored_hash_costs_the_full_work_on_failure() -> None:
    rounds: list[int] = []

    class Recording(PBKDF2Hasher):
        def _derive(self, password: str, salt: str, iterations: int) -> bytes:
            rounds.append(iterations)
            return super()._derive(password, salt, iterations)

    encoded = PBKDF2Hasher(iterations=1000).hash("lètmein")
    register_password_hasher(Recording(iterations=3000))
    assert check_password("wrong", encoded) == (False, False)
    assert rounds == [1000, 2000]  # Django's harden_runtime: the missing iterations are run


# --- malformed hashes, unusable passwords and timing --------------------------------------------


VALID_CHEAP = PBKDF2Hasher(iterations=1000).encode("lètmein", SALT22)


@pytest.mark.parametrize(
    "encoded",
    [
        None,
        "",
        "!",
        "!" + VALID_CHEAP,
        "lètmein",
        "pbkdf2_sha256",
        "pbkdf2_sha256$",
        "pbkdf2_sha256$1000$",
        "pbkdf2_sha256$abc$salt$hash",
        "pbkdf2_sha256$-1000$salt$aGFzaA==",
        "pbkdf2_sha256$0$salt$aGFzaA==",
        "pbkdf2_sha256$99999999999999$salt$aGFzaA==",
        "pbkdf2_sha256$1000$$aGFzaA==",
        VALID_CHEAP[:-10],
        VALID_CHEAP[:-1] + "!",
        VALID_CHEAP + "$extra",
        "argon2$argon2id$v=19$m=64,t=1,p=1$!!!$???",
        "argon2$argon2x$v=19$m=64,t=1,p=1$c29tZXNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
        "argon2$argon2id$v=20$m=64,t=1,p=1$c29tZXNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
        "argon2$argon2id$v=19$m=0,t=1,p=1$c29tZXNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
        "argon2$argon2id$v=19$m=1,t=1,p=1$c29tZXNhbHQ$YC9+jJCrQhs5R6db7LlN8Q",
        "argon2$argon2id$v=19$m=64,t=1,p=1$c2E$YC9+jJCrQhs5R6db7LlN8Q",
        "bcrypt_sha256$$2b$04$short",
        "bcrypt_sha256$garbage",
        "bcrypt$$2b$99$LZSJchsWG/DrBy1erNs4ee31eJ7DaWiuwhDOC7aqIyqGGggfu6Y/.",
        "scrypt$3$salt$8$1$aGFzaA==",
        "scrypt$256$salt$8$1$@@@@",
        "scrypt$1099511627776$salt$8$1$aGFzaA==",
        "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3",
        "sha1$$6d138ca3ae545631b3abd71a4f076ce759c5700b",
        "88a434c88cca4e900f7874cd98123f43",
        "unknown$x",
        "\x00",
        "pbkdf2_sha256$1000$\udcff$aGFzaA==",
    ],
)
def test_malformed_or_unknown_hashes_never_raise(cheap: None, encoded: str | None) -> None:
    assert check_password("lètmein", encoded) == (False, False)


def test_surrogate_password_is_a_mismatch(cheap: None) -> None:
    assert check_password("\udcff", VALID_CHEAP) == (False, False)


def test_unusable_passwords() -> None:
    first, second = make_unusable_password(), make_unusable_password()
    assert first.startswith("!") and len(first) == 41 and first != second
    assert not is_password_usable(first)
    assert not is_password_usable(None) and not is_password_usable("")
    assert not is_password_usable(make_password(None))
    assert is_password_usable(VALID_CHEAP)
    assert identify_hasher(first) is None


class Counting(PBKDF2Hasher):
    """A cheap PBKDF2 that counts calls, registered as the default in the tests below."""

    def __init__(self) -> None:
        super().__init__(iterations=1000)
        self.hashes = 0
        self.verifies = 0

    def hash(self, password: str) -> str:
        self.hashes += 1
        return super().hash(password)

    def verify(self, password: str, encoded: str) -> bool:
        self.verifies += 1
        return super().verify(password, encoded)


@pytest.mark.parametrize(
    "encoded",
    [None, "", make_unusable_password(), "md5$seasalt$3f86d0d3d465b7b458c231bf3555c0e3", "x$y"],
)
def test_missing_or_unknown_hash_still_costs_one_default_hash(encoded: str | None) -> None:
    counting = register_password_hasher(Counting())
    assert isinstance(counting, Counting)
    assert check_password("lètmein", encoded) == (False, False)
    assert (counting.hashes, counting.verifies) == (1, 0)


def test_a_real_check_costs_one_verification() -> None:
    counting = register_password_hasher(Counting())
    assert isinstance(counting, Counting)
    encoded = counting.hash("lètmein")
    assert check_password("lètmein", encoded) == (True, False)
    assert check_password("wrong", encoded) == (False, False)
    assert (counting.hashes, counting.verifies) == (1, 2)
    run_dummy_hash("anything")
    assert counting.hashes == 2


def test_fast_test_hasher_is_cheap_and_refused_in_production() -> None:
    set_default_password_hasher("fast_test")
    encoded = make_password("lètmein")
    assert encoded.startswith("fast_test$1$")
    assert check_password("lètmein", encoded) == (True, False)
    set_settings(Settings(environment="production", secret_key="s" * 50))
    with pytest.raises(ImproperlyConfigured, match="test suites only"):
        FastTestHasher().hash("lètmein")


def test_missing_bcrypt_library_is_a_clear_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "bcrypt", None)  # what `import bcrypt` sees when absent
    with pytest.raises(ImproperlyConfigured, match=r"pip install 'core-framework\[bcrypt\]'"):
        BCryptHasher(rounds=4).hash("x")


# --- the guide's custom hasher -----------------------------------------------------------------


class CustomHasher(PasswordHasher):
    """
    Custom password hasher using a specific algorithm.
    """

    name = "custom_sha512"

    def hash(self, password: str) -> str:
        """Hash a password."""
        import hashlib
        import secrets

        salt = secrets.token_hex(16)
        hashed = hashlib.sha512((salt + password).encode()).hexdigest()
        return f"{salt}${hashed}"

    def verify(self, password: str, hashed: str) -> bool:
        """Verify a password against a hash."""
        import hashlib

        try:
            salt, stored_hash = hashed.split("$")
            computed_hash = hashlib.sha512((salt + password).encode()).hexdigest()
            return computed_hash == stored_hash
        except ValueError:
            return False

    def needs_rehash(self, hashed: str) -> bool:
        """Check if password needs rehashing."""
        return False


def test_guides_custom_hasher_selected_through_settings(cheap: None) -> None:
    old = make_password("lètmein")  # pbkdf2, made before the switch
    register_password_hasher(CustomHasher())
    set_default_password_hasher(None)
    set_settings(Settings(auth_password_hasher="custom_sha512"))  # AUTH_PASSWORD_HASHER=...
    encoded = make_password("lètmein")
    assert re.fullmatch(r"[0-9a-f]{32}\$[0-9a-f]{128}", encoded)
    assert isinstance(identify_hasher(encoded), CustomHasher)
    assert check_password("lètmein", encoded) == (True, False)
    assert check_password("lètmeinz", encoded) == (False, False)
    assert check_password("lètmein", "no-dollar-sign") == (False, False)
    # Hashes made before the switch still verify, and are moved to the new default.
    assert check_password("lètmein", old) == (True, True)


def test_guides_custom_hasher_selected_through_configure_auth() -> None:
    register_password_hasher(CustomHasher())
    configure_auth(secret_key="k" * 40, password_hasher="custom_sha512")
    encoded = make_password("lètmein")
    assert check_password("lètmein", encoded) == (True, False)
    reset_auth_config()
    # Under a built-in default a prefix-less string is unknown, not handed to pbkdf2.
    assert identify_hasher(encoded) is None


# --- off the event loop ------------------------------------------------------------------------


class ThreadRecording(PBKDF2Hasher):
    """Records the thread each call runs in."""

    def __init__(self) -> None:
        super().__init__(iterations=1000)
        self.threads: list[int] = []

    def hash(self, password: str) -> str:
        self.threads.append(threading.get_ident())
        return super().hash(password)

    def verify(self, password: str, encoded: str) -> bool:
        self.threads.append(threading.get_ident())
        return super().verify(password, encoded)


async def test_async_variants_run_off_the_event_loop() -> None:
    recording = register_password_hasher(ThreadRecording())
    assert isinstance(recording, ThreadRecording)
    encoded = await amake_password("lètmein")
    assert await acheck_password("lètmein", encoded) == (True, False)
    assert await acheck_password("wrong", encoded) == (False, False)
    assert len(recording.threads) == 3
    assert threading.get_ident() not in recording.threads
