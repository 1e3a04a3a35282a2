"""The command line: ``derive list | show NAME | check NAME | all``.

Bad input ends with one line on stderr and exit code 2.  Heavy modules
(SymPy, numpy, rich) load only after the arguments are parsed.
"""
from __future__ import annotations

import argparse
import re
import sys

from .errors import InputError
from .messages import one_line, say as _say
from .outset import OutputError

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
        p.add_argument("--dim", default=None,
                       help="concrete dimension d = 2k (even; default 16, or 4 with --F/--G/--s): numeric checks "
                            "at d, Jacobian written out at d if d <= 8")
        p.add_argument("--variant", default=None, help=f"coupling variant: {', '.join(VARIANTS)}")
        p.add_argument("--F", default=None, help="your F: element-wise in x (tanh(x)) or [expr in x2_1..x2_k, ...]")
        p.add_argument("--G", default=None, help="your G, as --F")
        p.add_argument("--s", default=None, help="your scales s: k numbers separated by commas, or one number")
        p.add_argument("--prior-mean", default=None, help="prior mean of 2.2-2.4 (default 0)")
        p.add_argument("--prior-std", default=None, help="prior standard deviation of 2.2-2.4 (default 1)")
        p.add_argument("--mu", default=None, help="worked example of the KL: mu (with --sigma)")
        p.add_argument("--sigma", default=None, help="worked example of the KL: sigma > 0 (with --mu)")
        p.add_argument("--config", default=None, help="a TOML file with any of these options (the command line wins)")
        p.add_argument("--time-limit", default=None, help="seconds one derivation may take (default 300)")
        p.add_argument("--json", action="store_true", help="machine-readable output")

    def own(p):
        p.add_argument("--layer", default=None, help="your own layer: a TOML file of its equations")
        p.add_argument("--flow", default=None, help="your own flow: a TOML file listing its layers")

    def pair(p):
        p.add_argument("--p", default=None, help="KL pair: p's family (derive show kl --p gamma --q gamma)")
        p.add_argument("--q", default=None, help="KL pair: q's family")

    show = sub.add_parser("show", help="print a derivation step by step")
    show.add_argument("name", nargs="?")
    common(show)
    own(show)
    pair(show)
    check = sub.add_parser("check", help="run a derivation's numeric cross-checks")
    check.add_argument("name", nargs="?")
    common(check)
    own(check)
    pair(check)
    all_ = sub.add_parser("all", help="print, check and export everything")
    common(all_)
    all_.add_argument("--out", default="outputs", help="output folder (default: outputs)")
    all_.add_argument("--check", dest="check_only", action="store_true",
                      help="regenerate in memory and fail if the output folder is stale")
    all_.add_argument("--quiet", action="store_true", help="print only errors")
    all_.add_argument("--no-pdf", action="store_true", help="do not compile the PDFs")
    all_.add_argument("--no-catalogue", action="store_true",
                      help="the sheet's writeup only, without the flow-layer and KL catalogues and the estimators")
    all_.add_argument("--layer", action="append", default=[], help="your own layer (a TOML file) in the catalogue "
                      "document, the numpy module and the JSON; may be given more than once")
    all_.add_argument("--flow", action="append", default=[], help="your own flow (a TOML file), as --layer")
    all_.add_argument("--jobs", default=None, help="worker processes deriving at once (default: the usable CPUs)")
    all_.add_argument("--no-cache", action="store_true", help="derive everything again; neither read nor write "
                      "the cache of verified derivations (--check never reads it)")
    all_.add_argument("--profile", action="store_true", help="print the time of each derivation and its checks, "
                      "slowest first")
    return parser


CONFIG_KEYS = {"variant", "dim", "F", "G", "s", "prior_mean", "prior_std", "mu", "sigma", "time_limit"}
#: limits of the numbers a user gives: |mean| <= MAX_MEAN; MIN_STD <= standard deviation <= MAX_STD
MAX_MEAN = 1e6
MIN_STD, MAX_STD = 1e-12, 1e12
DEFAULT_TIME_LIMIT = 300.0


def _read_config(path: str) -> dict:
    """The TOML config: only known keys, strings or numbers."""
    from .tomlfile import FileError, read_toml

    try:
        table = read_toml(path, "--config")
    except FileError as exc:
        raise UsageError(str(exc)) from None
    unknown = sorted(set(table) - CONFIG_KEYS)
    if unknown:
        raise UsageError(f"--config: unknown key {unknown[0]!r}; known: {', '.join(sorted(CONFIG_KEYS))}")
    out = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise UsageError(f"--config: {key} must be a string or a number")
        if isinstance(value, int) and abs(value) > 10 ** 30:
            raise UsageError(f"--config: {key}: number too large")
        out[key] = str(value)
    return out


def _number(text: str, what: str, **limits):
    from .bounds import NumberError, bounded
    from .parse import ParseError, parse

    try:
        value = parse(text, {}, what=what)
    except ParseError as exc:
        raise UsageError(str(exc)) from None
    try:
        return bounded(value, **limits)
    except NumberError as exc:
        raise UsageError(f"{what}: {exc}") from None


def _mean(text: str, what: str):
    return _number(text, what, magnitude=MAX_MEAN)


def _std(text: str, what: str):
    return _number(text, what, low=MIN_STD, high=MAX_STD)


def _time_limit(text: str | None) -> float:
    if text is None:
        return DEFAULT_TIME_LIMIT
    raw = text.strip()
    if not re.fullmatch(r"[0-9]{1,5}(\.[0-9]{1,6})?", raw) or not 0 < float(raw) <= 86400:
        raise UsageError(f"--time-limit must be a number of seconds between 0 and 86400, got {text!r}")
    return float(raw)


def _options(args):
    from .registry import Options

    cfg = _read_config(args.config) if args.config is not None else {}

    def get(name):
        value = getattr(args, name, None)
        return value if value is not None else cfg.get(name)

    variant = get("variant") if get("variant") is not None else "seed"
    if variant not in VARIANTS:
        raise UsageError(f"--variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    custom = any(get(n) is not None for n in ("F", "G", "s"))
    dim = _dim(get("dim") if get("dim") is not None else ("4" if custom else "16"))
    if custom:
        from .custom import MAX_CUSTOM_DIM

        if dim > MAX_CUSTOM_DIM:
            raise UsageError(f"--dim {dim}: a block with your own F, G, s is derived up to d = {MAX_CUSTOM_DIM}")
    prior_mean = _mean(get("prior_mean"), "--prior-mean") if get("prior_mean") is not None else 0
    prior_std = _std(get("prior_std"), "--prior-std") if get("prior_std") is not None else 1
    example = None
    if (get("mu") is None) != (get("sigma") is None):
        raise UsageError("--mu and --sigma go together")
    if get("mu") is not None:
        example = (_mean(get("mu"), "--mu"), _std(get("sigma"), "--sigma"))
    seconds = _time_limit(get("time_limit"))
    opts = Options(dim=dim, variant=variant, explicit_dim=dim if dim <= 8 else 4, F=get("F"), G=get("G"),
                   s=get("s"), prior_mean=prior_mean, prior_std=prior_std, example=example)
    if custom:
        from .custom import BlockSpec, build_block
        from .parse import ParseError

        try:  # validate the user's block before any derivation runs
            build_block(BlockSpec(opts.variant, opts.dim, opts.F, opts.G, opts.s))
        except ParseError as exc:
            raise UsageError(str(exc)) from None
    return opts, seconds


def _build(entry, opts):
    from .budget import stage

    stage(f"deriving {entry.name} ({entry.question})")
    return entry.build(opts)


def _own_entry(args):
    """The entry of ``--layer FILE`` or ``--flow FILE`` (the file read and checked now), or None."""
    given = [(kind, getattr(args, kind, None)) for kind in ("layer", "flow") if getattr(args, kind, None) is not None]
    if not given:
        if getattr(args, "name", "") is None:
            raise UsageError(f"{args.command}: give a derivation's name, or --layer FILE or --flow FILE")
        return None
    if len(given) > 1 or args.name is not None:
        raise UsageError(f"{args.command}: give one of NAME, --layer FILE, --flow FILE")
    other = [o for o in ("variant", "F", "G", "s", "prior_mean", "prior_std", "mu", "sigma")
             if getattr(args, o, None) is not None]
    if other:
        raise UsageError(f"--{other[0].replace('_', '-')} does not apply to --{given[0][0]} (the file gives the "
                         "layer; --dim sets the d of its numeric checks)")
    from .parse import ParseError
    from .registry import own

    try:
        return own(*given[0], dim=_dim(args.dim) if args.dim is not None else None)
    except ParseError as exc:
        raise UsageError(str(exc)) from None


def _pair_name(args) -> str | None:
    """``kl --p P --q Q`` as the pair's name (``kl-P-Q``); the name given otherwise."""
    p, q = getattr(args, "p", None), getattr(args, "q", None)
    if p is None and q is None:
        return args.name
    if p is None or q is None:
        raise UsageError(f"--p and --q go together: derive {args.command} kl --p gamma --q gamma")
    if args.name not in (None, "kl"):
        raise UsageError(f"--p and --q name a KL pair: derive {args.command} kl --p {p} --q {q}")
    from .divergence.catalogue import PAIRS, find

    pair = find(p, q)
    if pair is None:
        known = ", ".join(f"{x.p}/{x.q}" for x in PAIRS)
        raise UsageError(f"no KL pair with p = {p!r} and q = {q!r} in the catalogue; p/q pairs: {known}")
    return pair.name


def _refuse_options_of_others(args, entry) -> None:
    """A KL pair or the estimators take none of the sheet's or the layers' options: given, they are refused."""
    if entry.question not in ("KL pair", "beyond"):
        return
    given = [o for o in ("dim", "variant", "F", "G", "s", "prior_mean", "prior_std", "mu", "sigma")
             if getattr(args, o, None) is not None]
    allowed = {"prior_mean", "prior_std"} if entry.name == "estimators" else set()
    given = [o for o in given if o not in allowed]
    if given:
        raise UsageError(f"--{given[0].replace('_', '-')} does not apply to {entry.name}")


def _entry(name: str):
    from .registry import ENTRIES, EXTRAS, catalogue, kl_pairs

    if name in ENTRIES or name in EXTRAS:
        return {**ENTRIES, **EXTRAS}[name]
    layers, pairs = catalogue(), kl_pairs()
    if name in pairs:
        return pairs[name]
    if name not in layers:
        raise UsageError(f"unknown derivation {name!r}; known: {', '.join([*ENTRIES, *EXTRAS])}; flow layers: "
                         f"{', '.join(layers)}; KL pairs: {', '.join(pairs)}")
    return layers[name]


def _console():
    from .render.terminal import make_console

    return make_console(soft_wrap=False)


def _ascii() -> bool:
    from .render import printing

    return printing.ASCII


def cmd_list(args) -> int:
    from .registry import ENTRIES

    from .registry import EXTRAS

    for e in [*ENTRIES.values(), *EXTRAS.values()]:
        print(f"{e.name:10s} {e.question:8s} {e.description}")
    from .registry import catalogue

    print("\nflow layers (derive show NAME, derive check NAME):")
    for e in catalogue().values():
        print(f"{e.name:13s} {_as_ascii(e.description) if _ascii() else e.description}")
    from .registry import kl_pairs

    print("\nKL pairs (derive show NAME, or derive show kl --p P --q Q):")
    for e in kl_pairs().values():
        print(f"{e.name:26s} {_as_ascii(e.description) if _ascii() else e.description}")
    return 0


_ASCII = {"∘": "*", "−": "-", "ᵀ": "^T", "‖": "|", "μ": "mu", "α": "alpha", "β": "beta", "σ": "sigma", "ℓ": "l",
          "≠": "!=", "·": "*", "×": "x", "ε": "eps", "δ": "delta"}


def _as_ascii(text: str) -> str:
    """A description for a terminal that shows only ASCII: Greek letters by name, other signs spelled out."""
    import unicodedata

    text = "".join(_ASCII.get(ch, ch) for ch in text)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def cmd_show(args) -> int:
    args.name = _pair_name(args)
    entry = _own_entry(args) or _entry(args.name)
    _refuse_options_of_others(args, entry)
    opts, _ = _options(args)
    der = _build(entry, opts)
    if args.json:
        from .render.jsonout import derivation_dict, dumps

        sys.stdout.write(dumps(derivation_dict(der, include_checks=False), ascii_only=_ascii()))
    else:
        from .render.terminal import render

        render(der, _console())
    return 0 if der.all_verified else 1


def cmd_check(args) -> int:
    args.name = _pair_name(args)
    entry = _own_entry(args) or _entry(args.name)
    _refuse_options_of_others(args, entry)
    opts, _ = _options(args)
    der = _build(entry, opts)
    from .budget import stage

    stage(f"cross-checks of {entry.name}")
    der.checks = entry.cross_checks(der, opts)
    if args.json:
        from .render.jsonout import check, dumps

        sys.stdout.write(dumps({"name": der.name, "all_verified": der.all_verified,
                                "checks": [check(c) for c in der.checks]}, ascii_only=_ascii()))
    else:
        from .render.terminal import checks_table

        console = _console()
        console.print(checks_table(der.checks, title=f"{der.title}: cross-checks"))
        bad = [s for s in der.steps if not s.verified]
        console.print(f"{len(der.steps) - len(bad)}/{len(der.steps)} steps verified; "
                      f"{sum(c.passed for c in der.checks)}/{len(der.checks)} cross-checks pass", markup=False)
    return 0 if der.all_verified and der.all_checks_pass else 1


def _own_files(args) -> tuple:
    """(kind, path) of each --layer and --flow of derive all, each file read and checked now; their names
    must differ from each other's and from the catalogue's."""
    from .parse import ParseError
    from .registry import catalogue, own

    given = [("layer", p) for p in args.layer] + [("flow", p) for p in args.flow]
    from .registry import ENTRIES, EXTRAS, kl_pairs

    taken = set(catalogue()) | set(ENTRIES) | set(EXTRAS) | set(kl_pairs())
    for kind, path in given:
        try:
            names = _own_names(kind, path)
        except ParseError as exc:
            raise UsageError(str(exc)) from None
        for name in names:
            if name in taken:
                raise UsageError(f"--{kind} {path}: the name {name!r} is already taken (by the catalogue or another "
                                 "file); give it a name of its own")
            taken.add(name)
    return tuple(given)


def _own_names(kind: str, path: str) -> list:
    """The names a layer or flow file gives functions in the numpy module (a catalogue layer used as it is
    gives none of its own)."""
    from .flows.catalogue import LAYERS
    from .flows.user import read_flow, read_layer

    if kind == "layer":
        return [read_layer(path)[0].name]
    flow = read_flow(path)[0]
    return [flow.name] + [la.name for la in flow.layers if LAYERS.get(la.name) is not la]


def cmd_all(args) -> int:
    from .writeup import run_all

    import dataclasses

    opts, _ = _options(args)
    opts = dataclasses.replace(opts, catalogue=not args.no_catalogue, own=_own_files(args))
    return run_all(opts, out=args.out, check_only=args.check_only, quiet=args.quiet, pdf=not args.no_pdf,
                   jobs=_jobs(args.jobs), cache=not args.no_cache, profile=args.profile)


def _jobs(text: str | None) -> int:
    from .runner import usable_cpus

    if text is None:
        return usable_cpus()
    if not re.fullmatch(r"[1-9][0-9]?", text) or int(text) > 64:
        raise UsageError(f"--jobs must be a number of processes from 1 to 64, got {text!r}")
    return int(text)


COMMANDS = {"list": cmd_list, "show": cmd_show, "check": cmd_check, "all": cmd_all}


def _supervise(args, argv: list[str], started: float) -> int:
    """Run the command in a child process under one time budget; swap in its staged outputs."""
    import time

    from . import budget
    from .outset import OutputError, Staging, resolve

    cfg = _read_config(args.config) if args.config is not None else {}
    seconds = _time_limit(args.time_limit if args.time_limit is not None else cfg.get("time_limit"))
    deadline = started + seconds
    staging = None
    try:
        if args.command == "all" and not args.check_only:
            try:
                staging = Staging(resolve(args.out))
            except OutputError as exc:
                raise UsageError(str(exc)) from None
        child = budget.Child(argv, str(staging.path) if staging else None)
        try:
            rc = child.wait(deadline)
        except budget.BudgetExceeded as exc:
            if child.final is not None:  # the work had already ended with its answer
                return _say(child.final[1], child.final[0])
            raise UsageError(f"ran out of time after {seconds:g} s (--time-limit) while {exc}; "
                             "nothing was written") from None
        except BaseException:
            child.kill()
            raise
        if rc < 0:
            raise _WorkerKilled(-rc)
        if child.final is not None:
            print(child.final[1], file=sys.stderr, flush=True)
        if staging is not None and child.staged and rc in (0, 1):
            if time.monotonic() > deadline:
                raise UsageError(f"ran out of time after {seconds:g} s (--time-limit) while writing the outputs; "
                                 "nothing was written")
            try:
                staging.commit(deadline)
            except OutputError as exc:
                raise UsageError(str(exc)) from None
            if child.message and not args.quiet:
                print(child.message, flush=True)
        return rc
    finally:
        if staging is not None:
            staging.close()


class _Terminated(Exception):
    """This process was asked to stop (SIGTERM, SIGHUP)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


class _WorkerKilled(Exception):
    """The worker process was killed by a signal from outside (e.g. when memory ran out)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum, frame):
    raise _Terminated(signum)


def _signal_name(signum: int) -> str:
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _quiet_broken_pipe() -> int:
    """stdout's reader went away: end quietly (no message, no error at exit)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


VALUE_OPTIONS = ("--dim", "--variant", "--F", "--G", "--s", "--prior-mean", "--prior-std", "--mu", "--sigma",
                 "--config", "--time-limit", "--out", "--layer", "--flow", "--jobs")


def _join_values(argv: list[str]) -> list[str]:
    """``--s -0.2,0.1`` as ``--s=-0.2,0.1``: a value that starts with '-' belongs to its option (argparse would
    take it for an option of its own)."""
    out, i = [], 0
    while i < len(argv):
        tok = argv[i]
        if tok in VALUE_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-") \
                and not argv[i + 1].startswith("--"):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


def main(argv=None) -> int:
    import time

    started = time.monotonic()
    argv = _join_values(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    try:
        from . import budget

        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 0
        if args.command == "list" or budget.in_child():
            _terminal_encoding()
            return COMMANDS[args.command](args)
        import signal

        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _on_signal)
        return _supervise(args, argv, started)
    except (UsageError, OutputError, InputError) as exc:
        return _say(f"derive: error: {one_line(str(exc))}", 2)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:
        return _say("derive: interrupted; nothing was written", 130)
    except _Terminated as exc:
        what = "terminated" if exc.signum == 15 else f"stopped by {_signal_name(exc.signum)}"
        return _say(f"derive: {what}; nothing was written", 128 + exc.signum)
    except _WorkerKilled as exc:
        return _say(f"derive: the work was killed by {_signal_name(exc.signum)} from outside (a SIGKILL is what "
                    "an out-of-memory kill looks like); nothing was written", 128 + exc.signum)
    except Exception as exc:  # an internal error: one line, unless DERIVE_DEBUG asks for the traceback
        import os

        from .runner import WorkerFailed

        if isinstance(exc, WorkerFailed):
            return _say(f"derive: {one_line(str(exc))}; nothing was written", 1)
        if os.environ.get("DERIVE_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        return _say(f"derive: internal error: {type(exc).__name__}: {one_line(first)} "
                    "(set DERIVE_DEBUG=1 for details)", 1)



def _terminal_encoding() -> None:
    """On a terminal or pipe that cannot encode Unicode, print ASCII fallbacks instead of failing."""
    import codecs

    for stream in (sys.stdout, sys.stderr):
        encoding = getattr(stream, "encoding", None) or "ascii"
        try:
            unicode_ok = codecs.lookup(encoding).name in ("utf-8", "utf-16", "utf-32")
        except LookupError:
            unicode_ok = False
        if not unicode_ok and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
            from .render import printing

            printing.ASCII = True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
