"""Password rules for registration and `core createsuperuser` (the guide's "strong password")."""

from __future__ import annotations

MIN_LENGTH = 8
#: Longer inputs are refused before hashing, so a huge body can't make hashing expensive.
MAX_LENGTH = 1024


def password_problems(password: str) -> list[str]:
    """Everything wrong with `password`; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"Password must be at most {MAX_LENGTH} characters")
    if not any(c.isupper() for c in password):
        problems.append("Password must contain an uppercase letter")
    if not any(c.islower() for c in password):
        problems.append("Password must contain a lowercase letter")
    if not any(c.isdigit() for c in password):
        problems.append("Password must contain a digit")
    return problems


def validate_password(password: str) -> str:
    """`password` if it follows the rules, else ValueError naming each problem (for validators)."""
    problems = password_problems(password)
    if problems:
        raise ValueError("; ".join(problems))
    return password
