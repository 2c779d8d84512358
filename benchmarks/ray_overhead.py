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
preparing and mapping every part; Ray's startup or connection shown apart), finalize, the load average
before the run, and the ratio of the pool's docs/s to each Ray run's (the overhead; above 1: Ray is
slower). The machine may be shared: `--rounds` repeats the three runs, in reverse order every other round,
and the summary compares the engines' median seconds. It also checks that every Ray report equals the
pool's (timings aside).

    python benchmarks/ray_overhead.py [--docs 200000] [--domains 2000] [--rounds 2] [-- AUDIT OPTIONS]
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
from throughput import corpus  # noqa: E402


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


def line(name: str, run: dict, docs: int, pool_seconds: float | None) -> str:
    t = run["report"]["timings"]
    startup = t.get("startup_seconds", 0.0)
    finalize = sum(a["finalize_seconds"] for a in t["analyzers"].values())
    ratio = f"{run['seconds'] / pool_seconds:.2f}x" if pool_seconds else ""
    return (f"{name:<14} {run['seconds']:>8.1f} {docs / run['seconds']:>7,.0f} {startup:>8.1f} {t['engine_wall_seconds'] - startup:>8.1f} "
            f"{finalize:>9.1f} {t['workers']:>8} {t['parts']:>6} {run['load']:>6.1f} {ratio:>10}")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--domains", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each engine (order reversed every other round)")
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
        print(f"{'engine':<14} {'seconds':>8} {'docs/s':>7} {'startup':>8} {'map':>8} {'finalize':>9} {'workers':>8} {'parts':>6} "
              f"{'load':>6} {'vs pool':>10}")
        head, address, env = start_ray_head(cores)
        engines = {
            "pool": (["--engine", "pool", "--workers", str(cores)], None),
            "ray, local": (["--engine", "ray"], None),
            "ray, cluster": (["--engine", "ray", "--ray-address", address], env),
        }
        runs: dict[str, list[dict]] = {name: [] for name in engines}
        try:
            for k in range(args.rounds):
                order = list(engines) if k % 2 == 0 else list(reversed(engines))
                pool_seconds = None
                for name in order:
                    engine_args, engine_env = engines[name]
                    load = os.getloadavg()[0]
                    run = audit(folder, out / name.replace(", ", "-"), [*engine_args, *args.extra], engine_env)
                    run["load"] = load
                    runs[name].append(run)
                    docs = run["report"]["totals"]["analysed"]
                    pool_seconds = runs["pool"][k]["seconds"] if len(runs["pool"]) > k else None
                    print(line(name, run, docs, None if name == "pool" else pool_seconds), flush=True)
        finally:
            stop(head, address)
        reference = without_run_facts(runs["pool"][0]["report"])
        same = all(without_run_facts(r["report"]) == reference for rs in runs.values() for r in rs)
        pool_median = median([r["seconds"] for r in runs["pool"]])
        print(f"median over {args.rounds} round(s):")
        for name, rs in runs.items():
            seconds = median([r["seconds"] for r in rs])
            startup = median([r["report"]["timings"].get("startup_seconds", 0.0) for r in rs])
            print(f"  {name:<14} {seconds:>7.1f} s  {docs / seconds:>7,.0f} docs/s  startup {startup:>5.1f} s  "
                  f"seconds vs pool {seconds / pool_median:.2f}x")
        print(f"reports equal to the pool's (timings aside): {'yes' if same else 'NO'}")
        print("columns: seconds = the whole command (start, read, map, finalize, write); startup = starting a local Ray or "
              "connecting to the cluster; map = the engine's phase after that (every part read, prepared and mapped, "
              "merged in order); finalize = the analyzers' finalize (diversity's on the engine's workers); load = the "
              "1-minute load average before the run (the machine is shared); vs pool = seconds over the same round's pool run")


if __name__ == "__main__":
    main()
