"""Password rules for registration and `core createsuperuser`, as OWASP ASVS 5 asks (V6.2).

At least 8 characters (12 recommended), up to 1024 (ASVS: at least 64 allowed), any
characters, no composition rules (no "an upper-case letter and a digit"), and not one of the
20,000 most common passwords. That list, `common-passwords.txt.gz`, is the one Django ships
(django/contrib/auth, BSD-3-Clause, from Royce Williams' list of leaked passwords), compared
case-insensitively as Django does.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema

MIN_LENGTH = 8
#: ASVS asks that at least 64 characters are allowed; longer inputs are refused before hashing,
#: so a huge body can't make hashing expensive.
MAX_LENGTH = 1024
COMMON_PASSWORDS_PATH = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (read once)."""
    with gzip.open(COMMON_PASSWORDS_PATH, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def password_problems(password: str) -> list[str]:
    """Everything wrong with `password`; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be at most {MAX_LENGTH} characters")
    if password.strip().lower() in common_passwords():
        problems.append("This password is too common: it is on a list of leaked passwords")
    return problems


def validate_password(password: str) -> str:
    """`password` if it follows the rules, else ValueError naming each problem (for validators)."""
    problems = password_problems(password)
    if problems:
        raise ValueError("; ".join(problems))
    return password


#: A schema field for a new password: `password: Password`. Validated by `validate_password`
#: (a 422 naming each problem); documented with its length bounds, so a generated client and
#: `/docs` say what the server accepts.
Password = Annotated[
    str,
    AfterValidator(validate_password),
    WithJsonSchema(
        {
            "type": "string",
            "format": "password",
            "minLength": MIN_LENGTH,
            "maxLength": MAX_LENGTH,
            "description": (
                f"{MIN_LENGTH} to {MAX_LENGTH} characters, not one of the 20,000 most common "
                "passwords."
            ),
        }
    ),
]
