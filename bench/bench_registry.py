#!/usr/bin/env python3
"""Benchmark: reconcile the repository table with a registry holding REPOS × TAGS images.

Everything runs on 127.0.0.1 and is torn down at the end: Debian's
docker-registry with Harbor-style token auth (the test harness's token
service), and a throwaway MariaDB with matching ``project``/``repository``
rows. The registry is filled over HTTP: one shared layer and config, mounted
into each repository, then one manifest PUT per tag, from parallel workers.

Each timed run is a fresh Python process running
``migrator.verify.registry.reconcile`` exactly as ``verify_registry`` does,
so its peak RSS (``resource.getrusage``) is the reconcile's own, not the
filler's. The admin password reaches it through the environment, never argv.

    python bench/bench_registry.py --repos 10000 --tags 5
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import pathlib
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "http"))

ADMIN_USER = "admin"
PASSWORD_ENV = "BENCH_REGISTRY_ADMIN_PASSWORD"


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0   # Linux reports KiB


# ---------------------------------------------------------------------------------------------
# The timed child: one reconcile, one JSON line on stdout.
# ---------------------------------------------------------------------------------------------
def child(args: argparse.Namespace) -> int:
    from migrator.mysql import connection as dbmod
    from migrator.verdicts import Verdict
    from migrator.settings import ConnectionSettings
    from migrator.verify.registry import reconcile
    from migrator.verify.registry_client import RegistryClient

    db = dbmod.connect(ConnectionSettings(unix_socket=args.socket, user="root", password="", database=args.database))
    baseline = rss_mib()
    if args.trace_memory:   # Python-heap peak of the reconcile alone; slows it down, so never timed
        import tracemalloc
        tracemalloc.start()
    started = time.perf_counter()
    with RegistryClient(args.url, username=ADMIN_USER, password=os.environ[PASSWORD_ENV],
                        concurrency=args.concurrency, page_size=args.page_size) as client:
        checks = reconcile(db, client)
        elapsed = time.perf_counter() - started
        out = {
            "seconds": elapsed, "requests": client.requests, "tag_requests": client.tag_requests,
            "token_requests": client.token_requests, "pages": client.pages,
            "rss_baseline_mib": baseline, "rss_peak_mib": rss_mib(),
            "statuses": {c.name: c.status.value for c in checks},
            "matched": next((c.data.get("matched") for c in checks if c.name == "registry.catalog"), None),
            "ok": all(c.status is Verdict.OK for c in checks),
            "failure": next((c.message for c in checks if c.status is Verdict.FAIL), None),
        }
        if args.trace_memory:
            out["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
    db.close()
    print(json.dumps(out))
    return 0


# ---------------------------------------------------------------------------------------------
# The parent: set up, fill, run the child N times, report.
# ---------------------------------------------------------------------------------------------
class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds
        self.seconds = seconds

    def left(self) -> float:
        return self.end - time.monotonic()

    def check(self, what: str) -> None:
        if self.left() <= 0:
            raise SystemExit(f"bench_registry: over the {self.seconds:.0f}s deadline while {what}; "
                             "use fewer --repos or raise --deadline")


def repo_names(repos: int, projects: int) -> list[str]:
    return [f"proj{i % projects:03d}/repo{i:06d}" for i in range(repos)]


def fill_database(server, database: str, names: list[str], projects: int) -> None:
    import harbor_seed
    from migrator.mysql import connection as dbmod

    server.create_database(database)
    db = dbmod.connect(server.settings(database))
    try:
        harbor_seed.create_tables(db, ("user", "project", "repository"))
        harbor_seed.add_user(db, 1, ADMIN_USER, admin=True)
        with db.transaction():
            for p in range(projects):
                db.execute("INSERT INTO project (project_id, owner_id, name, creation_time, update_time, deleted) "
                           "VALUES (%s, 1, %s, NOW(), NOW(), 0)", (p + 1, f"proj{p:03d}"))
        with db.conn.cursor() as cur:
            for start in range(0, len(names), 1000):
                chunk = names[start:start + 1000]
                cur.executemany("INSERT INTO repository (name, project_id) VALUES (%s, %s)",
                                [(n, int(n[4:7]) + 1) for n in chunk])
    finally:
        db.close()


def fill_registry(pusher, names: list[str], tags: int, workers: int, deadline: Deadline) -> float:
    tag_names = [f"v{i}" for i in range(tags)]
    chunks = [names[i:i + 20] for i in range(0, len(names), 20)]
    started = time.perf_counter()
    pusher.seed()
    done = 0
    with cf.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(pusher.push_many, chunk, tag_names) for chunk in chunks]
        try:
            for f in cf.as_completed(futures):
                f.result()
                done += 1
                if done % 50 == 0:
                    deadline.check("filling the registry")
                    print(f"  filled {done * 20}/{len(names)} repositories", file=sys.stderr, end="\r")
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    print(file=sys.stderr)
    return time.perf_counter() - started


def run_child(args, url: str, socket: str, database: str, password: str, deadline: Deadline,
              trace_memory: bool = False) -> dict:
    cmd = [sys.executable, str(pathlib.Path(__file__).resolve()), "--child", "--url", url, "--socket", socket,
           "--database", database, "--concurrency", str(args.concurrency), "--page-size", str(args.page_size)]
    if trace_memory:
        cmd.append("--trace-memory")
    env = {**os.environ, PASSWORD_ENV: password}
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=max(10.0, deadline.left()))
    if res.returncode != 0:
        raise SystemExit(f"bench_registry: the reconcile run failed: {res.stderr.strip().splitlines()[-1:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repos", type=int, default=10000)
    ap.add_argument("--tags", type=int, default=5)
    ap.add_argument("--projects", type=int, default=100, help="repositories are spread over this many projects")
    ap.add_argument("--runs", type=int, default=3, help="timed reconcile runs; the median is reported")
    ap.add_argument("--concurrency", type=int, default=8, help="tag-list workers of the reconcile (its default)")
    ap.add_argument("--page-size", type=int, default=1000, help="catalog page size n")
    ap.add_argument("--push-workers", type=int, default=16)
    ap.add_argument("--deadline", type=float, default=3600, help="give up after this many seconds in total")
    ap.add_argument("--storage-dir", default=None,
                    help="parent of the registry's temp storage (default: the system temp dir); /dev/shm makes "
                         "filling and removing 10k repositories' small files much faster on a busy disk")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON to FILE")
    # internal: the timed child
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--socket", help=argparse.SUPPRESS)
    ap.add_argument("--database", default="registry", help=argparse.SUPPRESS)
    ap.add_argument("--trace-memory", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args)

    import registry_harness as rh
    from migrator.errors import ServerUnavailable
    from migrator.tools.local_server import LocalServer

    def on_sigterm(signum, frame):  # noqa: ARG001 - unwind like Ctrl-C so servers and temp dirs go away
        raise SystemExit(f"bench_registry: stopped by signal {signum}")
    signal.signal(signal.SIGTERM, on_sigterm)

    if not rh.registry_available():
        print(f"bench_registry: {rh.REGISTRY_BIN} not found: apt-get install docker-registry", file=sys.stderr)
        return 2
    deadline = Deadline(args.deadline)
    password = "Bench-" + os.urandom(6).hex()
    names = repo_names(args.repos, args.projects)
    issuer = rh.TokenIssuer(rh.SigningKey(), {ADMIN_USER: (password, True)})
    issuer.start()
    registry = server = None
    try:
        try:
            server = LocalServer()
        except ServerUnavailable as exc:
            print(f"bench_registry: {exc.message}", file=sys.stderr)
            return 2
        server.start()
        registry = rh.LocalRegistry(issuer.key, issuer.url, base_dir=args.storage_dir).start()
        print(f"registry {registry.url} (token auth), MariaDB on {server.socket}", file=sys.stderr)
        t0 = time.perf_counter()
        fill_database(server, "registry", names, args.projects)
        db_seconds = time.perf_counter() - t0
        pusher = rh.Pusher(registry.url, issuer, seed_repo="proj000/repo000000")
        fill_seconds = fill_registry(pusher, names, args.tags, args.push_workers, deadline)
        pushes = next(pusher.requests)
        print(f"filled: {len(names)} rows in {db_seconds:.1f}s; {len(names)}×{args.tags} images with {pushes} "
              f"requests in {fill_seconds:.1f}s ({pushes / fill_seconds:.0f} req/s)", file=sys.stderr)

        runs = []
        for i in range(args.runs):
            deadline.check("reconciling")
            tokens_before = issuer.requests
            r = run_child(args, registry.url, server.socket, "registry", password, deadline)
            r["token_service_requests"] = issuer.requests - tokens_before
            if not r["ok"] or r["matched"] != len(names):
                raise SystemExit(f"bench_registry: reconcile did not match all {len(names)} repositories: "
                                 f"{r['failure'] or r['statuses']}")
            runs.append(r)
            print(f"  run {i + 1}: {r['seconds']:.2f}s, {r['requests']} requests "
                  f"({r['requests'] / r['seconds']:.0f}/s), peak RSS {r['rss_peak_mib']:.1f} MiB", file=sys.stderr)
        deadline.check("measuring memory")
        traced = run_child(args, registry.url, server.socket, "registry", password, deadline, trace_memory=True)
        print(f"  untimed run under tracemalloc: Python heap peak {traced['traced_peak_mib']:.1f} MiB",
              file=sys.stderr)
    finally:
        if registry is not None:
            registry.destroy()
        if server is not None:
            server.destroy()
        issuer.stop()

    med = statistics.median(r["seconds"] for r in runs)
    median_run = min(runs, key=lambda r: abs(r["seconds"] - med))
    result = {
        "command": "python bench/bench_registry.py " + " ".join(sys.argv[1:]),
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}",
        "repos": args.repos, "tags": args.tags, "projects": args.projects, "concurrency": args.concurrency,
        "page_size": args.page_size, "runs": len(runs),
        "seconds_median": round(med, 2), "seconds_all": [round(r["seconds"], 2) for r in runs],
        "requests": median_run["requests"], "tag_requests": median_run["tag_requests"],
        "token_requests": median_run["token_requests"], "catalog_pages": median_run["pages"],
        "requests_per_second": round(median_run["requests"] / med),
        "repositories_per_second": round(args.repos / med),
        "rss_baseline_mib": round(statistics.median(r["rss_baseline_mib"] for r in runs), 1),
        "rss_peak_mib": round(max(r["rss_peak_mib"] for r in runs), 1),
        "python_heap_peak_mib": round(traced["traced_peak_mib"], 1),
        "fill_seconds": round(fill_seconds, 1),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "storage_dir": args.storage_dir or "(system temp dir)",
    }
    print(f"reconcile of {args.repos} repositories × {args.tags} tags (median of {len(runs)}): "
          f"{result['seconds_median']:.2f}s total, {result['requests']} requests, "
          f"{result['requests_per_second']} requests/s, peak RSS {result['rss_peak_mib']} MiB "
          f"(baseline {result['rss_baseline_mib']} MiB; Python heap peak of the reconcile "
          f"{result['python_heap_peak_mib']} MiB)")
    print(json.dumps(result, indent=2))
    if args.json:
        pathlib.Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
