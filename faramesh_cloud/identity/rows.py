"""Row → value helpers shared by the identity stores, and id checks."""

from __future__ import annotations

import re
import uuid
from typing import Any, Final

from faramesh_cloud.identity.domain import IdentityError, NotFound, OrgRef, User

USER_COLUMNS: Final = "u.user_id, u.email, u.name, u.created_at, u.password_hash IS NOT NULL"
ORG_COLUMNS: Final = "o.org_id, o.slug, o.name"
_EMAIL: Final = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def user(row: tuple[Any, ...]) -> User:
    return User(str(row[0]), row[1], row[2], row[3], bool(row[4]))


def org(row: tuple[Any, ...]) -> OrgRef:
    return OrgRef(str(row[0]), row[1], row[2])


def uuid_text(value: str, what: str) -> str:
    """The canonical text of a UUID; a malformed one is simply "not found"."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise NotFound(f"no {what} {value!r} here; check the id") from None


def normal_email(email: str) -> str:
    email = email.strip().lower()
    if _EMAIL.match(email) is None:
        raise IdentityError(f"{email!r} is not an email address; enter it as name@example.com")
    return email
