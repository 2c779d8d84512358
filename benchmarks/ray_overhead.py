"""What the Ray Data engine costs against the process pool, on the same corpus and machine.

Builds (once, cached under benchmarks/out/, as throughput.py does) a web-like corpus with
../shared/bench/make_web_corpus.py, then runs `synthscope audit CORPUS --by domain -q -o OUT` in a child
process three ways:
  pool         `--engine pool --workers N` (N: the usable cores)
  ray, local   `--engine ray`: the run starts a local Ray on this machine (N CPUs) and stops it
  ray, cluster `--engine ray --ray-address ADDR`: a Ray head this script started beforehand with
               `ray start --head --block --num-cpus N` (stopped by its process id afterwards), as a
               user's running cluster would be
and prints for each the wall time, documents per second, the engine's map phase (reading, parsing,
preparing and mapping every part; Ray's startup or connection shown apart), finalize, and the ratio of
the pool's docs/s to each Ray run's (the overhead). It also checks that the Ray reports equal the pool's
(timings and the engine's name aside).

    python benchmarks/ray_overhead.py [--docs 200000] [--domains 2000] [-- AUDIT OPTIONS]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _record import recorded  # noqa: E402
from throughput import corpus, run_measured  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_ray_head(cpus: int) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """`ray start --head --block` in its own process group (so that it is stopped by its id), no dashboard,
    no usage statistics, token authentication with a fresh token; returns the process, the cluster's
    address once it accepts drivers, and the environment a driver needs (the token)."""
    ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    port = free_port()
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    head = subprocess.Popen(
        [ray_cli, "start", "--head", "--block", f"--num-cpus={cpus}", "--include-dashboard=false", "--disable-usage-stats",
         f"--port={port}", "--node-ip-address=127.0.0.1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        probe = subprocess.run([sys.executable, "-c", f"import ray; ray.init(address={address!r}, logging_level='ERROR'); ray.shutdown()"],
                               env=env, capture_output=True)
        if probe.returncode == 0:
            return head, address, env
        time.sleep(2)
    stop(head, address)
    raise SystemExit("the Ray head did not start within 120 s")


def stop(head: subprocess.Popen[bytes], address: str = "") -> None:
    """Stop the Ray head this script started, by its process group (its GCS, raylet and workers): SIGTERM,
    then SIGKILL to whatever of the group is left; and forget it as this machine's current cluster (where
    a later `ray.init()` without an address would look for it)."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            break
        try:
            head.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
        time.sleep(2)
    current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    port = address.rsplit(":", 1)[-1]
    if port and current.exists() and current.read_text().strip().endswith(":" + port):
        current.unlink()


def audit(folder: Path, out: Path, args: list[str], env: dict[str, str] | None = None) -> dict:
    cmd = [sys.executable, "-m", "synthscope.cli", "audit", str(folder), "--by", "domain", "-q", "-o", str(out), *args]
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return {"seconds": seconds, "report": json.loads((out / "report.json").read_text())}


def without_run_facts(report: dict) -> dict:
    out = copy.deepcopy(report)
    out.pop("created_at")
    out.pop("timings")
    return out


def line(name: str, run: dict, docs: int, pool_rate: float | None) -> str:
    t = run["report"]["timings"]
    startup = t.get("startup_seconds", 0.0)
    finalize = sum(a["finalize_seconds"] for a in t["analyzers"].values())
    rate = docs / run["seconds"]
    ratio = f"{pool_rate / rate:.2f}x" if pool_rate else "1.00x"
    return (f"{name:<14} {run['seconds']:>8.1f} {rate:>7,.0f} {startup:>8.1f} {t['engine_wall_seconds'] - startup:>8.1f} "
            f"{finalize:>9.1f} {t['workers']:>8} {t['parts']:>6} {ratio:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--domains", type=int, default=2_000)
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("--name", default=None, help="results file name (default: ray_overhead)")
    parser.add_argument("extra", nargs="*", help="audit options after --")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with recorded(args.name or "ray_overhead"):
        folder = corpus(args.docs, args.domains, args.workdir)
        out = args.workdir / f"ray-overhead-{args.docs}-d{args.domains}"
        print(f"corpus: {args.docs:,} documents, {args.domains:,} domains ({folder.name}); audit --by domain -q {' '.join(args.extra)}")
        print(f"{'engine':<14} {'seconds':>8} {'docs/s':>7} {'startup':>8} {'map':>8} {'finalize':>9} {'workers':>8} {'parts':>6} {'pool/this':>10}")
        runs = {"pool": audit(folder, out / "pool", ["--engine", "pool", "--workers", str(cores), *args.extra])}
        docs = runs["pool"]["report"]["totals"]["analysed"]
        pool_rate = docs / runs["pool"]["seconds"]
        print(line("pool", runs["pool"], docs, None), flush=True)
        runs["ray, local"] = audit(folder, out / "ray-local", ["--engine", "ray", *args.extra])
        print(line("ray, local", runs["ray, local"], docs, pool_rate), flush=True)
        head, address, env = start_ray_head(cores)
        try:
            runs["ray, cluster"] = audit(folder, out / "ray-cluster", ["--engine", "ray", "--ray-address", address, *args.extra], env)
        finally:
            stop(head, address)
        print(line("ray, cluster", runs["ray, cluster"], docs, pool_rate), flush=True)
        same = all(without_run_facts(r["report"]) == without_run_facts(runs["pool"]["report"]) for r in runs.values())
        print(f"reports equal to the pool's (timings aside): {'yes' if same else 'NO'}")
        print("columns: seconds = the whole command (start, read, map, finalize, write); startup = starting a local Ray or "
              "connecting to the cluster; map = the engine's phase after that (every part read, prepared and mapped, "
              "merged in order); finalize = the analyzers' finalize (diversity's on the engine's workers)")


if __name__ == "__main__":
    main()
