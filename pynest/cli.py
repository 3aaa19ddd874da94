"""The terminal interface: ``python -m pynest`` (also installed as ``pynest``).

Commands::

    pynest ptcr VALUE                       decode a PTCR value
    pynest walk EA [--scenario NAME] [--context NAME] [--access load|store|fetch]
                                            translate EA in a named MMU world, print the walk
    pynest scenario [NAME]                  list the named worlds, or describe one
    pynest exercise [KIND] [--seed N] [--answer TEXT] [--reveal]
                                            a seeded exercise; check an answer or reveal it
    pynest progress                         your exercise progress: right / tried / revealed
                                            per kind (file: PYNEST_PROGRESS)
    pynest assign ROSTER --exercises SPEC --title TEXT --secret-file F --out DIR
                  [--format nbgrader [--assignment-id ID]]
                                            one assignment notebook per student (nbgrader:
                                            an nbgrader master and per-student handouts)
    pynest grade FOLDER --roster ROSTER --secret-file F --out DIR
                                            grade the submitted notebooks: gradebook.csv,
                                            feedback/<id>.md, problems.txt

Numbers may be written in hex (0x...), binary (0b...) or decimal, with ``_`` allowed.
Bad arguments give a one-line error and exit status 2, never a traceback; a wrong
``--answer`` exits with status 1, and so do ``assign``/``grade`` when they skipped a
roster row or a submission (each named on stderr; everything else is done). Output into
a pipe that closes early (``| head``) ends quietly with status 1, without a BrokenPipe
traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from . import scenarios, teach
from .errors import PynestError
from .exercises import GENERATORS, generate
from .mmu import translate
from .mmu.formats import Ptcr, page_size_text
from .scenarios.text import KINDS

EXIT_USAGE = 2


class CliError(Exception):
    """A bad argument: printed as one line, exit status 2."""


def parse_number(text: str, what: str = "value", bits: int = 64, kind: str = "number") -> int:
    """An unsigned number from hex/binary/decimal text, or a CliError naming ``what`` and
    suggesting a value of its ``kind`` (:data:`pynest.scenarios.text.KINDS`)."""
    cleaned = text.strip().replace("_", "").lower()
    try:
        value = int(cleaned, 0)
    except ValueError:
        raise CliError(f"{what} {text!r} is not a number: type {KINDS[kind].type}") from None
    if value < 0 or value >> bits:
        raise CliError(f"{what} {text!r} is outside 0 .. 2**{bits} - 1")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        raise CliError(message)


def _cmd_ptcr(args: argparse.Namespace) -> int:
    value = parse_number(args.value, "PTCR", kind="register")
    ptcr = Ptcr.decode(value)
    print(ptcr)
    print(f"  PATB (bits 4:51)  = {ptcr.patb:#x}: the partition table's host real address")
    print(f"  PATS (bits 59:63) = {ptcr.pats}: 2^({ptcr.pats}+12) = {ptcr.table_bytes:#x} bytes")
    print(f"  PATE[LPID] is at PATB + 16 * LPID, for LPIDs 0 .. {ptcr.num_lpids - 1}")
    if ptcr.reserved:
        print(f"  reserved bits set: {ptcr.reserved:#x} (ignored by translation)")
    if not ptcr.aligned:
        print("  PATB is not aligned to the table size: every translation takes an HDSI/HISI")
        print("  with DSISR R_BADCONFIG (QEMU ppc64_v3_get_pate)")
    return 0


def _mmu_world(name: str):
    entry = scenarios.SCENARIOS.get(name)
    if entry is None:
        raise CliError(f"unknown scenario {name!r}; choose from {', '.join(scenarios.SCENARIOS)}")
    builder, _ = entry
    world = builder()
    if not isinstance(world, scenarios.MmuWorld):
        mmu = [n for n, (b, _) in scenarios.SCENARIOS.items() if n.startswith("radix")]
        raise CliError(f"scenario {name!r} is a KVM world; walk works in {', '.join(mmu)}")
    return world


def _cmd_walk(args: argparse.Namespace) -> int:
    ea = parse_number(args.ea, "EA", kind="address")
    world = _mmu_world(args.scenario)
    context = args.context or next(iter(world.contexts))
    cpu = world.contexts.get(context)
    if cpu is None:
        raise CliError(
            f"scenario {world.name!r} has no context {context!r}; "
            f"choose from {', '.join(world.contexts)}"
        )
    print(f"{world.name}, context {context}: {cpu}")
    print(translate(world.mem, cpu, ea, args.access, update_rc=not args.no_rc))
    return 0


def _cmd_scenario(args: argparse.Namespace) -> int:
    if args.name is None:
        width = max(map(len, scenarios.SCENARIOS))
        for name, (_, text) in scenarios.SCENARIOS.items():
            print(f"{name:<{width}}  {text}")
        return 0
    entry = scenarios.SCENARIOS.get(args.name)
    if entry is None:
        names = ", ".join(scenarios.SCENARIOS)
        raise CliError(f"unknown scenario {args.name!r}; choose from {names}")
    builder, text = entry
    print(f"{args.name}: {text}")
    world = builder()
    if isinstance(world, scenarios.MmuWorld):
        for name, cpu in world.contexts.items():
            print(f"  context {name}: {cpu}")
            for ea, ra, size, perms in world.mappings.get(name, []):
                print(f"    EA {ea:#018x} -> {ra:#x} ({page_size_text(size)}, {perms})")
        return 0
    vm = world.vm
    print(
        f"  L0 (Linux {world.l0.kernel}): {len(world.l0.guests)} L1 guest(s); L1 (Linux "
        f"{world.l1.kernel}) LPID {vm.lpid}, l1_ptcr {vm.l1_ptcr:#x}"
    )
    lo, hi = vm.allotment
    print(f"  L1 memory: host real {lo:#x} .. {hi:#x}")
    for l2 in world.l2s:
        data = ", ".join(f"{ea:#x}" for ea in world.data.get(l2.l1_lpid, []))
        print(
            f"  L2 LPID {l2.l1_lpid}: {l2.mem_size >> 20} MiB at L1 real {l2.l1_gpa_base:#x};"
            f" data {data}"
        )
    print(f"  events so far: {len(world.l0.events)}")
    return 0


def _cmd_exercise(args: argparse.Namespace) -> int:
    if args.kind is None:
        for kind in GENERATORS:
            print(kind)
        return 0
    seed = parse_number(args.seed, "seed", bits=32, kind="seed")
    exercise = generate(args.kind, seed)
    print(exercise)
    status = 0
    if args.answer is not None:
        ok, feedback = exercise.check(args.answer)
        print(f"\nyour answer: {args.answer}\n{feedback}")
        status = 0 if ok else 1
    if args.reveal:
        print()
        print(exercise.reveal())
    return status


def _cmd_assign(args: argparse.Namespace) -> int:
    roster = teach.read_roster(args.roster)
    secret = teach.load_secret(args.secret_file)
    if args.format == "nbgrader":
        made = teach.assign_nbgrader(
            roster, args.exercises, args.title, secret, args.out, args.assignment_id, args.overwrite
        )
        aid = made.assignment_id
        print(f"nbgrader assignment {aid!r} in {args.out}:")
        print(f"  source/{aid}/{aid}.ipynb: the master, for nbgrader generate_assignment")
        print(f"  pynest_keys/{aid}.key: unseals the master's seeds; keep it to yourself")
        print(f"  handout/<id>/{aid}/{aid}.ipynb: {len(made.handouts)} handout(s), one a student")
        print(f"next, in {args.out}: nbgrader generate_assignment {aid}")
    elif args.assignment_id is not None:
        raise CliError("--assignment-id goes with --format nbgrader")
    else:
        paths = teach.assign(roster, args.exercises, args.title, secret, args.out, args.overwrite)
        print(f"{len(paths)} notebook(s) written to {args.out}")
    skipped = [r for r in roster.rows if r.problem]
    for row in skipped:
        print(f"pynest: roster row {row.row} skipped: {row.problem}", file=sys.stderr)
    return 1 if skipped else 0


def _cmd_grade(args: argparse.Namespace) -> int:
    roster = teach.read_roster(args.roster)
    secret = teach.load_secret(args.secret_file)
    report = teach.grade(args.folder, roster, secret, args.out, args.exercises, args.title)
    graded = [s for s in report.students if s.results]
    print(f"{len(graded)} of {len(report.students)} roster row(s) graded: {report.gradebook}")
    missing = [s.student for s in report.students if s.status == "no submission"]
    if missing:
        print(f"no submission from {len(missing)}: {', '.join(missing)}")
    for problem in report.problems:
        print(f"pynest: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


def _cmd_progress(args: argparse.Namespace) -> int:
    from .exercises.progress import progress_summary  # loaded already, by .exercises

    print(progress_summary())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pynest", description="POWER9 radix MMU and nested-HV model")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p = sub.add_parser("progress", help="exercise progress: right / tried / revealed per kind")
    p.set_defaults(run=_cmd_progress)
    p = sub.add_parser("ptcr", help="decode a PTCR value")
    p.add_argument("value", help="the PTCR, e.g. 0x100000")
    p.set_defaults(run=_cmd_ptcr)
    p = sub.add_parser("walk", help="translate an EA in a named MMU world and print the walk")
    p.add_argument("ea", help="effective address, e.g. 0x10000abc")
    p.add_argument("--scenario", default="radix-reference", help="an MMU world (radix-...)")
    p.add_argument("--context", help="which CPU context of the world (default: the first)")
    p.add_argument("--access", choices=["load", "store", "fetch"], default="load")
    p.add_argument("--no-rc", action="store_true", help="do not write R/C (debugger's view)")
    p.set_defaults(run=_cmd_walk)
    p = sub.add_parser("scenario", help="list the named worlds, or describe one")
    p.add_argument("name", nargs="?")
    p.set_defaults(run=_cmd_scenario)
    p = sub.add_parser("exercise", help="a seeded exercise (no KIND: list the kinds)")
    p.add_argument("kind", nargs="?")
    p.add_argument("--seed", default="0", help="the same seed gives the same exercise")
    p.add_argument("--answer", help="check this answer (exit status 1 when wrong)")
    p.add_argument("--reveal", action="store_true", help="print the answer and the working")
    p.set_defaults(run=_cmd_exercise)
    p = sub.add_parser("assign", help="write one assignment notebook per student")
    p.add_argument("roster", help="CSV file with an 'id' column (other columns are kept)")
    p.add_argument("--exercises", required=True, help="kinds and counts, e.g. translate:3,walk2d")
    p.add_argument("--title", required=True, help="the assignment's title")
    p.add_argument("--secret-file", required=True, help="the course secret (keep it private)")
    p.add_argument("--out", required=True, help="folder for the notebooks")
    p.add_argument("--overwrite", action="store_true", help="replace notebooks already there")
    p.add_argument(
        "--format",
        choices=["pynest", "nbgrader"],
        default="pynest",
        help="nbgrader: --out is an nbgrader course folder; writes the master for "
        "nbgrader generate_assignment and one handout per student",
    )
    p.add_argument("--assignment-id", help="nbgrader's assignment id (default: from the title)")
    p.set_defaults(run=_cmd_assign)
    p = sub.add_parser("grade", help="grade a folder of submitted notebooks")
    p.add_argument("folder", help="the submitted notebooks (any file names)")
    p.add_argument("--roster", required=True, help="the roster used by assign")
    p.add_argument("--secret-file", required=True, help="the secret used by assign")
    p.add_argument("--out", required=True, help="folder for gradebook.csv and feedback/")
    p.add_argument("--exercises", help="the assignment's kinds (default: from the notebooks)")
    p.add_argument("--title", help="the assignment's title (default: from the notebooks)")
    p.set_defaults(run=_cmd_grade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad arguments)."""
    try:
        args = build_parser().parse_args(argv)
        status = args.run(args)
        sys.stdout.flush()  # a closed pipe shows here, inside the try
        return status
    except (CliError, PynestError) as exc:
        print(f"pynest: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader (``| head``) has gone: point stdout at devnull so the flush at
        # interpreter exit cannot raise again (Python docs, signal: "Note on SIGPIPE").
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
