"""Throughput of a full audit on web-like corpora with few and with many sources, against a dedup-only peer.

Builds (once, cached under benchmarks/out/) corpora with ../shared/bench/make_web_corpus.py: the same
documents spread over 1 domain and over many (Zipf-sized) domains. For each, runs
`synthscope audit CORPUS --by domain -q -o OUT` in a child process (default options unless extra audit
options follow `--`), and prints the wall time, documents per second, CPU seconds (the audit and its
workers: less sensitive to other jobs on the machine than the wall time), seconds per stage (from the
report's timings), peak RSS (`peak MiB`: the largest single process, driver or worker; `all MiB`: the
driver and its workers together, sampled twice a second; `all PSS`: their summed proportional set size,
sampled with it, which counts the pages they share, such as the libraries' code, once) and the size of every report file. On the same corpus, in the
same run, a child process runs the dedup-only peer a user would write with datasketch: words of the
lower-cased text (`str.split`), word 5-gram shingles, `MinHash.bulk(num_perm=128, hashfunc=xxh32_intdigest)`
and `MinHashLSH(threshold=0.8, num_perm=128)` query + insert per document. The last column is the audit's
documents per second over the peer's.

    python benchmarks/throughput.py [--docs 200000] [--domains 1 2000 20000] [--peer-on all|first|none] [-- AUDIT OPTIONS]
    python benchmarks/throughput.py --docs 1000000 --domains 50000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAKE_CORPUS = HERE.parent.parent / "shared" / "bench" / "make_web_corpus.py"
sys.path.insert(0, str(HERE))

from _record import recorded  # noqa: E402


def corpus(n_docs: int, domains: int, root: Path) -> Path:
    """The cached corpus of `n_docs` documents over `domains` domains (built on first use)."""
    folder = root / f"web-{n_docs}-d{domains}"
    done = folder / ".complete"
    if not done.exists():
        subprocess.run([sys.executable, str(MAKE_CORPUS), str(n_docs), str(folder), "--domains", str(domains)], check=True, stdout=subprocess.DEVNULL)
        done.write_text("ok\n")
    return folder


def tree_memory(root: int) -> tuple[int, int]:
    """(resident bytes, proportional set size bytes) of process `root` and all its descendants now
    (Linux /proc; (0, 0) elsewhere). The PSS counts a page shared by n processes (the libraries' code)
    as 1/n in each, so the sum over the processes counts it once; the RSS sum counts it n times."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    rss = pss = 0
    stack = [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm", "rb") as fh:
                rss += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
                for line in fh:
                    if line.startswith(b"Pss:"):
                        pss += int(line.split()[1]) * 1024
                        break
        except (OSError, IndexError, ValueError):
            pass
    return rss, pss


class TreeMemory:
    """Samples the summed RSS and PSS of a process and its descendants (driver and workers) twice a second."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.peak_pss, self._stop = pid, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            rss, pss = tree_memory(self.pid)
            self.peak, self.peak_pss = max(self.peak, rss), max(self.peak_pss, pss)

    def stop(self) -> tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak, self.peak_pss


def run_measured(cmd: list[str]) -> tuple[float, float, str, float, float, float]:
    """Run `cmd` and return (seconds, peak RSS MiB, stdout, CPU seconds, peak summed RSS MiB, peak summed
    PSS MiB), measured with wait4 on the child. The peak RSS is the largest one process reached (wait4's
    ru_maxrss: the child or one of its workers); the summed ones sample the child and all its workers together.
    The CPU seconds (user + system) include the worker processes the child waited for; they depend
    much less on what else the machine runs than the wall time does."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    memory = TreeMemory(proc.pid)
    assert proc.stdout is not None
    out = proc.stdout.read()
    tree_peak, tree_pss = memory.stop()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: a check failed, still a complete audit
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return seconds, usage.ru_maxrss / 1024, out, usage.ru_utime + usage.ru_stime, tree_peak / 2**20, tree_pss / 2**20


def audit(folder: Path, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "synthscope.cli", "audit", str(folder), "--by", "domain", "-q", "-o", str(out), *extra]
    seconds, peak, _, cpu, tree, pss = run_measured(cmd)
    report = json.loads((out / "report.json").read_text())
    sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir()) if p.is_file()}
    return {"seconds": seconds, "peak": peak, "report": report, "sizes": sizes, "cpu": cpu, "tree": tree, "pss": pss}


def peer(folder: Path) -> dict:
    seconds, peak, out, cpu, _, _ = run_measured([sys.executable, str(Path(__file__).resolve()), "--peer-child", str(folder)])
    result = json.loads(out.strip().splitlines()[-1])
    result.update(wall=seconds, peak=peak, cpu=cpu)
    return result


def peer_child(folder: Path) -> None:
    """The dedup-only peer: what a user writes with datasketch (one process)."""
    import pyarrow.parquet as pq
    import xxhash
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    lsh = MinHashLSH(threshold=0.8, num_perm=128)
    docs = duplicates = 0
    for path in sorted(folder.glob("*.parquet")):
        pf = pq.ParquetFile(path)
        for batch in pf.iter_batches(batch_size=5000, columns=["id", "text"]):
            ids = batch.column("id").to_pylist()
            shingle_sets = []
            for text in batch.column("text").to_pylist():
                words = text.lower().split()
                grams = {" ".join(words[i : i + 5]).encode("utf-8") for i in range(max(len(words) - 4, 1))}
                shingle_sets.append(list(grams))
            for key, m in zip(ids, MinHash.bulk(shingle_sets, num_perm=128, hashfunc=xxhash.xxh32_intdigest)):
                if lsh.query(m):
                    duplicates += 1
                lsh.insert(key, m)
                docs += 1
    seconds = time.perf_counter() - started
    print(json.dumps({"documents": docs, "duplicates": duplicates, "seconds": seconds}))


def stage_seconds(report: dict) -> str:
    t = report.get("timings", {})
    parts = []
    for key in ("read_prepare_seconds", "read_seconds", "prepare_seconds"):
        if key in t:
            parts.append(f"{key.removesuffix('_seconds')} {t[key]:.1f}")
    for name, a in t.get("analyzers", {}).items():
        parts.append(f"{name} map {a['map_seconds']:.1f} fin {a['finalize_seconds']:.1f}")
    return "; ".join(parts)


def mib(n: int) -> str:
    return f"{n / 2**20:.2f}"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--peer-child":
        peer_child(Path(sys.argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=200_000)
    parser.add_argument("--domains", type=int, nargs="+", default=[1, 2_000, 20_000])
    parser.add_argument("--peer-on", choices=["all", "first", "none"], default="first", help="corpora the datasketch peer runs on")
    parser.add_argument("--workdir", type=Path, default=HERE / "out")
    parser.add_argument("--name", default=None, help="results file name (default throughput, throughput-1M for 1M documents)")
    parser.add_argument("extra", nargs="*", help="options passed to synthscope audit (after --)")
    args = parser.parse_args()

    name = args.name or ("throughput" if args.docs < 1_000_000 else f"throughput-{args.docs // 1_000_000}M")
    with recorded(name):
        print(f"audit options: --by domain -q {' '.join(args.extra) or '(defaults)'}")
        print(f"{'corpus':<28} {'sources':>8} {'seconds':>8} {'docs/s':>7} {'CPU s':>7} {'peak MiB':>9} {'all MiB':>8} {'all PSS':>8}  report sizes MiB")
        first_secs = first_cpu = None
        for k, domains in enumerate(args.domains):
            folder = corpus(args.docs, domains, args.workdir)
            r = audit(folder, args.workdir / f"report-{args.docs}-d{domains}", args.extra)
            rep = r["report"]
            docs = rep["totals"]["analysed"]
            sizes = ", ".join(f"{n} {mib(s)}" for n, s in r["sizes"].items())
            label = f"{args.docs:,} docs, {domains:,} domains"
            print(f"{label:<28} {rep['totals']['sources']:>8,} {r['seconds']:>8.1f} {docs / r['seconds']:>7,.0f} {r['cpu']:>7.1f} {r['peak']:>9.0f} {r['tree']:>8.0f} {r['pss']:>8.0f}  {sizes}", flush=True)
            print(f"    stages (s): {stage_seconds(rep)}; outside the report's total (start, render, write): "
                  f"{r['seconds'] - rep['timings']['total_seconds']:.1f}", flush=True)
            if first_secs is None:
                first_secs, first_cpu = r["seconds"], r["cpu"]
            else:
                print(f"    time vs {args.domains[0]:,} domain(s): {r['seconds'] / first_secs:.2f}x (CPU seconds: {r['cpu'] / first_cpu:.2f}x)", flush=True)
            if args.peer_on == "all" or (args.peer_on == "first" and k == 0):
                p = peer(folder)
                peer_rate = p["documents"] / p["seconds"]
                print(f"    datasketch dedup-only peer: {p['seconds']:.1f} s ({p['cpu']:.1f} CPU s), {peer_rate:,.0f} docs/s, peak {p['peak']:.0f} MiB, "
                      f"{p['duplicates']:,} documents with an LSH match; audit / peer docs/s: {docs / r['seconds'] / peer_rate:.2f}x", flush=True)


if __name__ == "__main__":
    main()
