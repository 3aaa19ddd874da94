"""Per-student seeds and tags: HMAC-SHA256 keyed with the course secret.

Four derivations, each under its own label so that no value of one reveals another:
the seed of a question (never written anywhere) and the question id written in the
notebook, both per assignment title, student and number; the tag that seals a
notebook's metadata (student id, title, questions); and the key of one nbgrader
assignment (:mod:`.nbgrader_layout`: it unseals that assignment's seeds and nothing
else). Without the secret none of them can be computed or checked.
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


def _hmac(key: bytes, parts: Sequence[str | int]) -> bytes:
    """HMAC-SHA256 under ``key`` of ``parts`` as one compact ``json.dumps`` list (no two
    lists of parts give one message)."""
    message = json.dumps(list(parts), ensure_ascii=True, separators=(",", ":"))
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()


def _mac(secret: bytes, label: str, *parts: str) -> bytes:
    return _hmac(check_secret(secret), [label, *parts])


def question_seed(secret: bytes, assignment: str, student: str, number: int) -> int:
    """The seed of question ``number`` (1-based) of ``student`` in ``assignment``: 64 bits
    of an HMAC.

    ``assignment`` is the title the notebook is sealed for (:func:`submission_tag`), the
    one thing every grader recovers: ``pynest grade`` reads it from the sealed metadata,
    and nbgrader's hidden tests carry the seeds made with it. So each assignment gets its
    own variants: question 1 of week 3 and question 1 of week 5 differ for one student,
    as they differ between classmates."""
    return int.from_bytes(_mac(secret, "seed", assignment, student, str(number))[:8], "big")


def question_id(secret: bytes, assignment: str, student: str, number: int) -> str:
    """The id of a question as the notebook shows it (12 hex digits, not the seed), per
    assignment, student and number like :func:`question_seed`: an answer cell copied from
    another week's notebook names no question of this one."""
    return _mac(secret, "question", assignment, student, str(number)).hex()[:12]


def submission_tag(secret: bytes, student: str, title: str, kinds: Sequence[str]) -> str:
    """The seal of a notebook's metadata: who it is for, which assignment, which kinds."""
    return _mac(secret, "tag", student, title, *kinds).hex()


def assignment_key(secret: bytes, assignment: str) -> bytes:
    """The key that seals the seeds of nbgrader assignment ``assignment`` (32 bytes)."""
    return _mac(secret, "nbgrader-key", assignment)


def seal_seed(key: bytes, student: str, number: int, seed: int) -> int:
    """``seed`` of question ``number`` of ``student``, XORed with 64 bits of an HMAC under
    ``key`` (:func:`assignment_key`): sealing twice gives the seed back. Without the key
    a sealed seed says nothing about the seed."""
    return seed ^ int.from_bytes(_hmac(key, [student, number])[:8], "big")


def student_token(key: bytes, student: str) -> str:
    """How an nbgrader assignment's hidden tests name ``student`` (16 hex digits of an
    HMAC under the assignment key): nbgrader's feedback shows those tests to every
    student, so they list no classmate's id."""
    return _hmac(key, ["student", student]).hex()[:16]


def same_tag(a: str, b: object) -> bool:
    """Whether tag ``b`` (read from a file: any type) equals ``a``, in constant time."""
    return isinstance(b, str) and b.isascii() and hmac.compare_digest(a, b)
