"""Seeded, self-checking exercises (the OSTEP homework pattern).

>>> from pynest.exercises import generate
>>> ex = generate("translate", seed=3)
>>> print(ex.question)          # the same question for seed 3 on every run   # doctest: +SKIP
>>> ex.check("0x3000abc")       # (False, 'No, ...')                          # doctest: +SKIP
>>> print(ex.reveal())          # the answer and the walk trace               # doctest: +SKIP

``ex.widget()`` gives an answer form for a notebook (ipywidgets is imported only then).
"""

from .base import (
    Exercise,
    ExerciseWidget,
    FaultAnswer,
    LettersAnswer,
    NumberAnswer,
    parse_number,
)
from .mmu import GENERATORS, decode_pte, generate, partition_entry, translate_ea

__all__ = [
    "GENERATORS",
    "Exercise",
    "ExerciseWidget",
    "FaultAnswer",
    "LettersAnswer",
    "NumberAnswer",
    "decode_pte",
    "generate",
    "parse_number",
    "partition_entry",
    "translate_ea",
]
