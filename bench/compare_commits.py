"""Two commits side by side on one benchmark: did a change make the tool slower?

    python bench/compare_commits.py --old d216c81 --new HEAD --bench upgrade --rounds 3
    python bench/compare_commits.py --old d216c81 --new HEAD --bench snapshot --rounds 3

Each commit is checked out into a temporary git worktree, and each tree's own benchmark
script runs against its own package (compare commits whose benchmark measures the same way:
`git diff OLD NEW -- bench/` should show only moved imports), in turn, the order alternating every round (old-new, new-old, …) so that the machine's background load
falls on both alike. Each run is the benchmark's own interleaved measurement of the tool
against its floor (``bench_upgrade``: ALTER … FORCE of the rewritten tables; ``bench_snapshot``:
``mariadb-dump`` to a file), so the ratio tool/floor of each run is compared as well as the
seconds: on a noisy machine the ratio moves less than either figure. Medians over the rounds.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
BENCHES = {
    # name: (script, extra arguments, how to read (tool seconds, floor seconds, the tool's part in its
    # steps or None) from its JSON); upgrade: the chain's steps as the tool times them, so that a
    # difference can be placed inside the chain or around it
    "upgrade": ("bench_upgrade.py", ["--modes", "default", "--harbor-runs", "0"],
                lambda r: (r[0]["modes"]["default"]["upgrade"]["median"], r[0]["modes"]["default"]["floor"]["median"],
                           r[0]["modes"]["default"]["upgrade"]["steps_sum_median"])),
    "snapshot": ("bench_snapshot.py", [],
                 lambda r: (r["times"]["take_snapshot"]["median"], r["times"]["mariadb-dump"]["median"], None)),
}


def worktree(rev: str, parent: pathlib.Path) -> pathlib.Path:
    path = parent / rev.replace("/", "_")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(path), rev], check=True)
    return path


def run_once(tree: pathlib.Path, args: list[str]) -> tuple[float, float, float | None]:
    name, extra, read = BENCHES[args[0]]
    script = tree / "bench" / name
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = dict(os.environ, PYTHONPATH=str(tree))
        subprocess.run([sys.executable, str(script), *args[1:], *extra, "--json", out.name], cwd=tree, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        return read(json.load(open(out.name, encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--old", required=True)
    p.add_argument("--new", default="HEAD")
    p.add_argument("--bench", choices=sorted(BENCHES), required=True)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--log-rows", type=int, default=1_000_000)
    p.add_argument("--runs", type=int, default=3, help="runs inside each benchmark call")
    args = p.parse_args(argv)
    bench_args = [args.bench, "--log-rows", str(args.log_rows), "--runs", str(args.runs)]
    results: dict[str, list[tuple[float, float, float | None]]] = {args.old: [], args.new: []}
    with tempfile.TemporaryDirectory(prefix="hm-compare-") as tmp:
        trees = {rev: worktree(rev, pathlib.Path(tmp)) for rev in results}
        try:
            for i in range(args.rounds):
                order = [args.old, args.new] if i % 2 == 0 else [args.new, args.old]
                for rev in order:
                    tool, floor, steps = run_once(trees[rev], bench_args)
                    results[rev].append((tool, floor, steps))
                    print(f"round {i + 1} {rev}: tool {tool:.2f}s" + (f" (steps {steps:.2f}s)" if steps else "")
                          + f", floor {floor:.2f}s, ratio {tool / floor:.2f} (load {os.getloadavg()[0]:.1f})", flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False)
    print(f"\n== {args.bench}, {args.log_rows:,} access_log rows, medians of {args.rounds} rounds")
    med = {}
    for rev, runs in results.items():
        tool = statistics.median(t for t, _, _ in runs)
        floor = statistics.median(f for _, f, _ in runs)
        ratio = statistics.median(t / f for t, f, _ in runs)
        steps = [s for _, _, s in runs if s is not None]
        med[rev] = (tool, ratio)
        print(f"  {rev:12s} tool {tool:6.2f}s  floor {floor:6.2f}s  tool/floor {ratio:.2f}"
              + (f"  steps {statistics.median(steps):6.2f}s" if steps else ""))
    (old_t, old_r), (new_t, new_r) = med[args.old], med[args.new]
    print(f"  new/old: seconds {new_t / old_t:.2f}, ratio to the floor {new_r / old_r:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
