"""Command line: ``simcollapse run | plot | theory``.

    simcollapse run gaussian --set n_samples=100 --set generations=1000 --out out/g
    simcollapse plot out/g
    simcollapse theory gaussian --set n_samples=10 --set ddof=1 --at 20

``--set key=value`` parses the value as JSON (``--set n_samples=[10,20]``) and falls back to a plain
string (``--set policy=accumulate``). A bad value prints one line naming the field and exits with 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
import time

from . import families, neural
from .config import ConfigError
from .neural import NEURAL


def parse_sets(pairs: list[str]) -> dict:
    values = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConfigError("--set", f"expected key=value, got {pair!r}")
        try:
            values[key] = json.loads(raw)
        except json.JSONDecodeError:
            values[key] = raw
    return values


def _config(args):
    from .api import make_config

    return make_config(args.family, **parse_sets(args.set))


# Further subcommands: each module defines `add_parser(subparsers)`, which adds its parser and sets `func`.
COMMAND_MODULES: tuple[str, ...] = ("report", "demo", "classroom", "reproduce", "decompose", "sweep")


def add_command(subparsers, func) -> argparse.ArgumentParser:
    """The parser of the subcommand that ``func(args)`` runs (for the modules' `add_parser`): ``cmd_NAME`` is
    ``simcollapse NAME``, the first paragraph of its docstring the command's help, the rest its description."""
    import inspect

    help, _, description = inspect.cleandoc(func.__doc__).partition("\n\n")
    parser = subparsers.add_parser(func.__name__.removeprefix("cmd_"), help=" ".join(help.split()),
                                   description=" ".join(description.split()) or None)
    parser.set_defaults(func=func)
    return parser


def add_overwrite(parser: argparse.ArgumentParser) -> None:
    """``--overwrite``, for every command that writes into --out."""
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the results in --out: first remove the files simcollapse wrote there")


def cmd_run(args) -> int:
    from .core import outputs, results

    if args.family in NEURAL:
        config = neural.from_sets(args.family, parse_sets(args.set), args.out, progress=not args.quiet)
        neural.require_extra(config)  # before --overwrite removes anything
        if neural.claim(args.out, config, args.overwrite):
            print(f"resuming the unfinished run in {args.out} from its last finished generation", file=sys.stderr)
        neural.train(config)
        print(f"wrote {args.out}")
        return _plot(args.out, args)
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise ConfigError("--checkpoint-every", f"must be ≥ 1 generation, got {args.checkpoint_every}")
    config = _config(args)
    # the processes of a multi-host run share `out`: each skips the others' parts
    out = outputs.claim(args.out, args.overwrite, skip_parts=args.coordinator is not None)
    if args.coordinator is not None:
        if args.checkpoint_every is not None:
            raise ConfigError("--checkpoint-every", "is not supported with --coordinator (checkpoint each host's run instead)")
        return _run_distributed(out, config, args)
    results.write_config(out, config)
    return _simulate_into(out, config, args, start=None, checkpoint_every=args.checkpoint_every)


def _run_distributed(out, config, args) -> int:
    """One process of a multi-host run: simulate this process's chains into a part, then process 0 merges."""
    import shutil

    from .api import theory
    from .core import distributed, results

    distributed.initialize(args.coordinator, args.num_processes, args.process_id)
    part = distributed.part_dir(out)
    results.write_config(part, config)
    code = _simulate_into(part, config, args, start=None, checkpoint_every=args.checkpoint_every,
                          chain_indices=distributed.my_chains(config.chains), plot=False)
    distributed.barrier("simcollapse run: every part written")
    index, count = distributed.process()
    if index != 0 or code != 0:
        return code
    missing = [p.name for p in (out / f"part-{i}-of-{count}" for i in range(count)) if not (p / "stats.npz").is_file()]
    if missing:
        raise ConfigError("--num-processes", f"{', '.join(missing)} did not finish; their processes reported the error")
    results.save(out, config, distributed.merge(out), theory(config))
    for i in range(count):
        shutil.rmtree(out / f"part-{i}-of-{count}")
    print(f"merged {count} processes' chains → {out}")
    return _plot(out, args)


def cmd_resume(args) -> int:
    from .core import checkpoint, results

    config = results.load_config(args.run_dir)
    position, every = checkpoint.load(args.run_dir, config)
    print(f"resuming at generation {position.generation} of {config.generations}", file=sys.stderr)
    return _simulate_into(args.run_dir, config, args, start=position, checkpoint_every=every)


class _InterruptAtChunk:
    """While a run is simulated, Ctrl-C takes effect at the end of the current call (the driver sizes calls to
    about a second of work): the run stops there and writes its checkpoint. A second Ctrl-C interrupts at once.
    A KeyboardInterrupt raised wherever the signal lands can be lost (raised in a garbage-collector callback
    inside JAX it is printed and ignored, and the run goes on) or, landing in a compilation, crash the exit."""

    def __enter__(self):
        self.requested = False
        # not where SIGINT is ignored or handled by a caller
        self.installed = signal.getsignal(signal.SIGINT) is signal.default_int_handler
        if self.installed:
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def check(self):
        if self.requested:
            raise KeyboardInterrupt

    def __exit__(self, *exc):
        if self.installed:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _simulate_into(out, config, args, *, start, checkpoint_every, chain_indices=None, plot=True) -> int:
    """Simulate `config` into run directory `out`, checkpointing every chunk when `checkpoint_every` is set.

    Ctrl-C writes a checkpoint of the last finished chunk (also without --checkpoint-every) and exits 130."""
    from .api import simulate, theory
    from .core import checkpoint, results

    chunk = getattr(args, "chunk", None)
    latest, saved = start, (0 if start is None else start.generation)

    def on_chunk(position):
        nonlocal latest, saved
        latest = position
        if checkpoint_every is not None and position.generation - saved >= checkpoint_every:
            checkpoint.save(out, position, config, checkpoint_every)
            saved = position.generation
        interrupt.check()

    begin = time.perf_counter()
    try:
        with _InterruptAtChunk() as interrupt:
            trajectory = simulate(config, progress=not args.quiet, chunk=chunk, chain_indices=chain_indices,
                                  start=start, on_chunk=on_chunk)
    except KeyboardInterrupt:
        if latest is None:
            raise
        checkpoint.save(out, latest, config, checkpoint_every)
        print(f"simcollapse: interrupted at generation {latest.generation}; checkpoint written, continue with "
              f"`simcollapse resume {out}`", file=sys.stderr)
        return 130
    elapsed = time.perf_counter() - begin
    results.save(out, config, trajectory, theory(config))
    checkpoint.remove(out)
    chains = config.chains if chain_indices is None else len(chain_indices)
    print(f"simulated {chains} chains × {config.generations} generations in {elapsed:.2f} s → {out}")
    return _plot(out, args) if plot else 0


def _plot(out, args) -> int:
    if args.plot:
        from .plots import plot_run

        for path in plot_run(out):
            print(f"wrote {path}")
    return 0


def cmd_plot(args) -> int:
    from .plots import plot_run

    for path in plot_run(args.run_dir, args.out):
        print(f"wrote {path}")
    return 0


def cmd_theory(args) -> int:
    from .api import theory

    config = _config(args)
    curves = theory(config)
    if not curves:
        print("no closed form is known for this configuration")
        return 0
    at = args.at if args.at is not None else [0, len(next(iter(curves.values()))) - 1]
    width = max(map(len, curves))
    print(f"{'generation':<{width}}  " + "  ".join(f"{g:>12d}" for g in at))
    for name, curve in curves.items():
        if curve.ndim == 1:
            print(f"{name:<{width}}  " + "  ".join(f"{curve[g]:>12.6g}" for g in at))
    missing = [m for m in getattr(config, "metrics", ()) if f"E_{m}" not in curves]
    if missing:
        print(f"no closed form for {', '.join(missing)} in this configuration")
    return 0


class FamilyHelp(argparse.Action):
    """``-h/--help``: the command's help and, when it follows FAMILY, that family's config keys."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from .keys import describe

        family = getattr(namespace, "family", None)
        parser.print_help()
        print("\n" + (describe(family) if family else f"{parser.prog} FAMILY --help lists that family's config keys."))
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simcollapse", description="Simulate model collapse, with theory beside it.")
    parser.add_argument("--no-cache", action="store_true",
                        help="compile without the persistent compilation cache (see simcollapse.core.cache)")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p, extra=()):
        p.add_argument("-h", "--help", action=FamilyHelp, help="show this help (after FAMILY: its config keys) and exit")
        p.add_argument("family", choices=families.names() + list(extra), help="model family")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="config field (JSON value); FAMILY --help lists the keys")

    run = sub.add_parser("run", help="simulate chains and write config.json, stats.npz, theory.npz", add_help=False)
    with_config(run, NEURAL)
    run.add_argument("--out", required=True, help="output directory (refused if it holds results, see --overwrite)")
    add_overwrite(run)
    run.add_argument("--chunk", type=int, default=None, help="recorded generations per compiled chunk")
    run.add_argument("--plot", action="store_true", help="also draw the figures")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--checkpoint-every", type=int, default=None, metavar="K",
                     help="write checkpoint.npz about every K generations (continue with `simcollapse resume`)")
    multi = run.add_argument_group("multi-host (one process per host, see simcollapse.core.distributed)")
    multi.add_argument("--coordinator", default=None, metavar="HOST:PORT", help="address of process 0")
    multi.add_argument("--num-processes", type=int, default=1, help="number of processes")
    multi.add_argument("--process-id", type=int, default=0, help="this process's index")
    run.set_defaults(func=cmd_run)

    resume = sub.add_parser("resume", help="continue a run from its checkpoint.npz, bit-identically")
    resume.add_argument("run_dir")
    resume.add_argument("--plot", action="store_true", help="also draw the figures")
    resume.add_argument("--quiet", action="store_true", help="no progress bar")
    resume.set_defaults(func=cmd_resume)

    plot = sub.add_parser("plot", help="draw the figures of a run directory")
    plot.add_argument("run_dir")
    plot.add_argument("--out", default=None, help="directory for the figures (default: the run directory)")
    plot.set_defaults(func=cmd_plot)

    th = sub.add_parser("theory", help="print the closed-form expectations of a config", add_help=False)
    with_config(th)
    th.add_argument("--at", type=int, nargs="+", default=None, help="generations to print")
    th.set_defaults(func=cmd_theory)

    for name in COMMAND_MODULES:
        importlib.import_module(f"{__package__}.{name}").add_parser(sub)
    return parser


def _configure_process(cache: bool) -> None:
    """JAX settings of a simcollapse process, set before JAX is imported (so a bad value is still refused
    without importing it): the persistent compilation cache, and CPU computations run in the calling thread
    (the driver waits for every chunk anyway, and long sessions on 2 cores were seen to stall in the
    asynchronous CPU dispatcher)."""
    from .core import cache as compilation_cache

    if cache:
        compilation_cache.enable()
    if "jax" not in sys.modules:
        os.environ.setdefault("JAX_CPU_ENABLE_ASYNC_DISPATCH", "false")


def main(argv=None) -> int:
    from .core.errors import NonFiniteError

    parser = build_parser()
    args = parser.parse_args(argv)
    _configure_process(cache=not args.no_cache)
    try:
        return args.func(args)
    except ConfigError as err:
        print(f"simcollapse: error: {err}", file=sys.stderr)
        return 2
    except NonFiniteError as err:
        print(f"simcollapse: error: {err}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("simcollapse: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
