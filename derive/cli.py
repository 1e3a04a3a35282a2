"""The command line: ``derive list | show NAME | check NAME | all``.

Bad input ends with one line on stderr and exit code 2.  Heavy modules
(SymPy, numpy, rich) load only after the arguments are parsed.
"""
from __future__ import annotations

import argparse
import re
import sys

MAX_DIM = 2048
VARIANTS = ("seed", "realnvp", "nice", "scaled-nice")


class UsageError(Exception):
    """A problem with the user's input: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise UsageError(message)


def _dim(text: str) -> int:
    raw = text.strip()
    if not re.fullmatch(r"[0-9]{1,6}", raw):
        raise UsageError(f"--dim must be a positive even integer, got {text!r}")
    d = int(raw)
    if d <= 0 or d % 2:
        raise UsageError(f"--dim must be a positive even integer (d = 2k), got {d}")
    if d > MAX_DIM:
        raise UsageError(f"--dim {d} is larger than the limit {MAX_DIM}")
    return d


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="derive", description="Verified symbolic derivations for coupling flows and VAEs.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("list", help="list the derivations")

    def common(p):
        p.add_argument("--dim", default="16", help="concrete dimension d = 2k (even; default 16): numeric checks at d, Jacobian written out at d if d <= 8")
        p.add_argument("--variant", default="seed", help=f"coupling variant: {', '.join(VARIANTS)}")
        p.add_argument("--json", action="store_true", help="machine-readable output")

    show = sub.add_parser("show", help="print a derivation step by step")
    show.add_argument("name")
    common(show)
    check = sub.add_parser("check", help="run a derivation's numeric cross-checks")
    check.add_argument("name")
    common(check)
    all_ = sub.add_parser("all", help="print, check and export everything")
    common(all_)
    all_.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    all_.add_argument("--check", dest="check_only", action="store_true",
                      help="regenerate in memory and fail if the output folder is stale")
    all_.add_argument("--quiet", action="store_true", help="print only errors")
    all_.add_argument("--no-pdf", action="store_true", help="do not compile the PDF")
    return parser


def _options(args):
    from .registry import Options

    if args.variant not in VARIANTS:
        raise UsageError(f"--variant must be one of {', '.join(VARIANTS)}, got {args.variant!r}")
    dim = _dim(args.dim)
    # the written-out Jacobian: at the user's d when it is small enough to read, else at d = 4
    return Options(dim=dim, variant=args.variant, explicit_dim=dim if dim <= 8 else 4)


def _entry(name: str):
    from .registry import ENTRIES

    if name not in ENTRIES:
        raise UsageError(f"unknown derivation {name!r}; known: {', '.join(ENTRIES)}")
    return ENTRIES[name]


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def cmd_list(args) -> int:
    from .registry import ENTRIES

    for e in ENTRIES.values():
        print(f"{e.name:10s} {e.question:8s} {e.description}")
    return 0


def cmd_show(args) -> int:
    entry = _entry(args.name)
    opts = _options(args)
    der = entry.build(opts)
    if args.json:
        from .render.jsonout import derivation_dict, dumps

        sys.stdout.write(dumps(derivation_dict(der, include_checks=False)))
    else:
        from .render.terminal import render

        render(der, _console())
    return 0 if der.all_verified else 1


def cmd_check(args) -> int:
    entry = _entry(args.name)
    opts = _options(args)
    der = entry.build(opts)
    der.checks = entry.check(der, opts)
    if args.json:
        from .render.jsonout import check, dumps

        sys.stdout.write(dumps({"name": der.name, "all_verified": der.all_verified,
                                "checks": [check(c) for c in der.checks]}))
    else:
        from .render.terminal import checks_table

        console = _console()
        console.print(checks_table(der.checks, title=f"{der.title}: cross-checks"))
        bad = [s for s in der.steps if not s.verified]
        console.print(f"{len(der.steps) - len(bad)}/{len(der.steps)} steps verified; "
                      f"{sum(c.passed for c in der.checks)}/{len(der.checks)} cross-checks pass")
    return 0 if der.all_verified and der.all_checks_pass else 1


def cmd_all(args) -> int:
    from .writeup import run_all

    return run_all(_options(args), out=args.out, check_only=args.check_only, quiet=args.quiet,
                   pdf=not args.no_pdf)


COMMANDS = {"list": cmd_list, "show": cmd_show, "check": cmd_check, "all": cmd_all}


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 0
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"derive: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("derive: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
