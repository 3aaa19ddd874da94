"""The command-line interface: answers, and one-line errors with exit status 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pynest.cli import main, parse_number


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ptcr_decodes_fields(capsys):
    code, out, _ = run(capsys, "ptcr", "0x100001")
    assert code == 0
    # PATB = bits 4:51 = 0x100000; PATS = 1 -> 2^13-byte table, 512 LPIDs
    assert "PATB=0x100000 PATS=1" in out
    assert "0x2000 bytes" in out and "0 .. 511" in out
    assert "not aligned" not in out  # 0x100000 is 8 KiB aligned


def test_ptcr_explains_misalignment(capsys):
    code, out, _ = run(capsys, "ptcr", "0x101001")
    assert code == 0 and "not aligned" in out and "R_BADCONFIG" in out


def test_walk_prints_the_worked_example(capsys):
    # radix-mmu.md example 1: EA 0x10000ABC, PID 5 -> RA 0x3000ABC after 9 reads
    code, out, _ = run(capsys, "walk", "0x10000abc", "--no-rc")
    assert code == 0
    assert "-> RA 0x3000abc (4K page, 9 reads)" in out


def test_walk_guest_context_does_the_2d_walk(capsys):
    code, out, _ = run(capsys, "walk", "0x1234_5678", "--context", "guest")
    assert code == 0 and "-> RA 0xa01678 (4K page, 25 reads)" in out


def test_walk_reports_a_fault(capsys):
    code, out, _ = run(capsys, "walk", "0x10001abc", "--access", "store")
    assert code == 0 and "DSI" in out and "0x42000000" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["ptcr", "zz"], "'zz' is not a number"),
        (["ptcr", "-1"], "outside"),
        (["ptcr", str(1 << 64)], "outside"),
        (["walk", "0x10", "--scenario", "nowhere"], "unknown scenario 'nowhere'"),
        (["walk", "0x10", "--scenario", "two-l2s"], "KVM world"),
        (["walk", "0x10", "--context", "nope"], "no context 'nope'"),
        (["walk", "0x10", "--access", "jump"], "invalid choice"),
        (["scenario", "nowhere"], "unknown scenario"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_give_one_line_and_status_2(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("pynest: error:") and needle in err
    assert "Traceback" not in err


def test_scenario_list_and_describe(capsys):
    code, out, _ = run(capsys, "scenario")
    assert code == 0
    for name in ("radix-reference", "radix-host", "one-l1", "two-l2s", "migrated-l1"):
        assert name in out
    code, out, _ = run(capsys, "scenario", "radix-reference")
    assert code == 0 and "context guest" in out and "EA 0x0000000012345000 -> 0x201000" in out
    code, out, _ = run(capsys, "scenario", "two-l2s")
    assert code == 0 and "L2 LPID" in out
    # versioned behaviour depends on the kernels (pynest.kvm.versions): the world says them
    assert "L0 (Linux 4.20): 1 L1 guest(s); L1 (Linux 4.20) LPID 1" in out


def test_parse_number_forms():
    assert parse_number("0x10_00") == 0x1000
    assert parse_number("0b101") == 5
    assert parse_number(" 42 ") == 42


def test_module_entry_point_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "pynest", "ptcr", "0x100000"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "PATS=0" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "pynest", "walk", "zz"], capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_exercise_lists_kinds_and_is_seeded(capsys):
    code, out, _ = run(capsys, "exercise")
    assert code == 0 and "translate" in out.split()
    code, first, _ = run(capsys, "exercise", "translate", "--seed", "3")
    code2, again, _ = run(capsys, "exercise", "translate", "--seed", "3")
    assert code == code2 == 0 and first == again  # same seed, same question
    _, other, _ = run(capsys, "exercise", "translate", "--seed", "4")
    assert other != first


def test_exercise_checks_and_reveals(capsys):
    from pynest.exercises import generate

    right = str(generate("translate", 3).answer)
    code, out, _ = run(capsys, "exercise", "translate", "--seed", "3", "--answer", "0x1")
    assert code == 1 and "your answer: 0x1" in out
    code, out, _ = run(capsys, "exercise", "translate", "--seed", "3", "--reveal")
    assert code == 0 and f"Answer: {right}" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["exercise", "nope"], "unknown exercise kind 'nope'"),
        (["exercise", "translate", "--seed", "x"], "seed 'x' is not a number"),
        (["exercise", "translate", "--seed", "-3"], "outside"),
    ],
)
def test_exercise_bad_arguments(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "" and needle in err and err.count("\n") == 1


def test_a_closed_pipe_ends_quietly():
    """``pynest ... | head -1``: no BrokenPipeError traceback (issue 15 item 10)."""
    cmd = f"{sys.executable} -m pynest exercise walk2d --seed 1 --reveal | head -1"
    out = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("[walk2d, seed 1]")
    assert "Traceback" not in out.stderr and "BrokenPipe" not in out.stderr
    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE, deterministically
    proc = subprocess.run(
        [sys.executable, "-m", "pynest", "scenario"],
        stdout=write,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )
    os.close(write)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
