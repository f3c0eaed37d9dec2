"""`python -m bench [--quick] [--out FILE] [--no-ours]`: every scenario, every system, one table.
`python -m bench --national [--quick] [--backend sqlite|postgresql|both] [--sizes 1e6,3e6] [--minutes M]
[--parallel]`: the centre grown (bench/national.py).

Full: the 600-pupil collège of issue 6 (under 10 minutes on 2 cores).
--quick: a 120-pupil school, for CI's smoke test (under 1 minute). No timing
assertions anywhere: benchmarks are not tests.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .run import Params, format_table, run_all, summarise, write_results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small school, for a smoke test")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results.json")
    parser.add_argument("--no-ours", action="store_true", help="peers only (while the engine is being changed)")
    parser.add_argument(
        "--national", action="store_true", help="grow the centre towards national size (bench/national.py)"
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both", help="with --national")
    parser.add_argument("--sizes", help="with --national: checkpoints in changes, e.g. 1e6,3e6")
    parser.add_argument(
        "--minutes",
        type=float,
        help="with --national: stop growing after this long, last checkpoint at the size reached",
    )
    parser.add_argument("--parallel", action="store_true", help="with --national: grow both engines at once")
    args = parser.parse_args(argv)
    if args.national:
        return _national(args, argv)
    if args.no_ours:
        os.environ["MASSAR_BENCH_OURS"] = "0"
    params = Params.for_mode(args.quick)
    started = time.perf_counter()
    print(f"massar bench ({'quick' if args.quick else 'full'}): {params}", file=sys.stderr)
    result = run_all(params, log=lambda m: print(f"{time.perf_counter() - started:6.1f}s {m}", file=sys.stderr))
    summary = summarise(result, params, args.quick)
    summary["bench_wall_s"] = round(time.perf_counter() - started, 1)
    write_results(summary, args.out)
    print(format_table(summary))
    print(f"\n{summary['bench_wall_s']} s; results in {args.out}")
    return 0


def _national(args: argparse.Namespace, argv: list[str] | None) -> int:
    from .national import format_national, run_national

    started = time.perf_counter()
    backends = ["postgresql", "sqlite"] if args.backend == "both" else [args.backend]
    sizes = [int(float(s)) for s in args.sizes.split(",")] if args.sizes else None
    out = args.out.with_name("national.json") if args.out.name == "results.json" else args.out
    result = run_national(
        args.quick,
        backends,
        sizes,
        log=lambda m: print(f"{time.perf_counter() - started:7.1f}s {m}", file=sys.stderr, flush=True),
        stop_at=time.time() + args.minutes * 60 if args.minutes else None,
        parallel=args.parallel,
        partial_dir=out.parent,
    )
    result["command"] = "python -m bench " + " ".join(argv if argv is not None else sys.argv[1:])
    result["wall_s"] = round(time.perf_counter() - started, 1)
    write_results(result, out)
    print(format_national(result))
    print(f"\n{result['wall_s']} s; results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
