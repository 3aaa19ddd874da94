"""Per-student seeds and tags: HMAC-SHA256 keyed with the course secret.

Three derivations, each under its own label so that no value of one reveals another:
the seed of a question (never written anywhere), the question id written in the
notebook, and the tag that seals a notebook's metadata (student id, title, questions).
Without the secret none of them can be computed or checked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from pathlib import Path

from ..errors import PynestError

MIN_SECRET_BYTES = 16


class TeachError(PynestError, ValueError):
    """A teacher's input pynest cannot work with (roster, secret, exercise list, folder)."""


def check_secret(secret: bytes) -> bytes:
    """``secret`` if it can key the HMACs (bytes, at least :data:`MIN_SECRET_BYTES`)."""
    if not isinstance(secret, bytes):
        raise TeachError(f"the course secret must be bytes, got {type(secret).__name__}")
    if len(secret) < MIN_SECRET_BYTES:
        raise TeachError(
            f"the course secret is {len(secret)} bytes; use at least {MIN_SECRET_BYTES}, e.g. "
            "python -c 'import secrets; print(secrets.token_hex(16))' > secret.txt"
        )
    return secret


def load_secret(path: str | Path) -> bytes:
    """The secret in the file at ``path`` (one trailing newline dropped)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise TeachError(f"cannot read the secret file {str(path)!r}: {e.strerror}") from None
    return check_secret(data.removesuffix(b"\n").removesuffix(b"\r"))


def _mac(secret: bytes, label: str, *parts: str) -> bytes:
    message = json.dumps([label, *parts], ensure_ascii=True, separators=(",", ":"))
    return hmac.new(check_secret(secret), message.encode("ascii"), hashlib.sha256).digest()


def question_seed(secret: bytes, student: str, number: int) -> int:
    """The seed of question ``number`` (1-based) of ``student``: 64 bits of an HMAC."""
    return int.from_bytes(_mac(secret, "seed", student, str(number))[:8], "big")


def question_id(secret: bytes, student: str, number: int) -> str:
    """The id of a question as the notebook shows it (12 hex digits, not the seed)."""
    return _mac(secret, "question", student, str(number)).hex()[:12]


def submission_tag(secret: bytes, student: str, title: str, kinds: Sequence[str]) -> str:
    """The seal of a notebook's metadata: who it is for, which assignment, which kinds."""
    return _mac(secret, "tag", student, title, *kinds).hex()


def same_tag(a: str, b: object) -> bool:
    """Whether tag ``b`` (read from a file: any type) equals ``a``, in constant time."""
    return isinstance(b, str) and b.isascii() and hmac.compare_digest(a, b)
