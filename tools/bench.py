#!/usr/bin/env python3
"""Benchmark: mm-convert against a plain copy of the same bytes, in one run, on this machine.

Usage: tools/bench.py [--size 2b|7b] [--rounds N] [--work DIR] [--keep] [--lean] [--no-drop-caches]
Builds the release binary, generates a Qwen2-VL checkpoint of real shape with `mm-convert sample`,
then times, in each of N rounds (default 5), each step under /usr/bin/time -v with its input in the
page cache (as root the cache is first dropped, so every step starts from the same state) and
free memory touched once (a virtual machine's host takes back idle pages; see touch_free_memory):
  copy      cp of the HF directory and an fsync of the copies (the baseline: the same bytes read
            and written durably once)
  hf_to_mm  tp=2, pp=4, uneven layer lists
  mm_to_hf  back to HF
  resplit   tp=2/pp=4 -> tp=4/pp=2
and prints the median and best wall seconds, their ratios to the copy's, throughput and peak
resident memory. (The disk of a shared machine has slow moments: the same copy takes 2.8 s or 5.5 s.) It then checks
that the outputs equal a run with one worker (`--workers 1`) and that mm_to_hf gives back the input.
"""
import argparse, os, re, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "mm-convert")
LAYOUTS = {
    "2b": {"llm": "[[4,8,8,8]]", "vit": "[[32,0,0,0]]", "llm_flat": "[4,8,8,8]", "vit_flat": "[32,0,0,0]",
           "llm2": "[14,14]", "vit2": "[32,0]"},
    "7b": {"llm": "[[4,8,8,8]]", "vit": "[[32,0,0,0]]", "llm_flat": "[4,8,8,8]", "vit_flat": "[32,0,0,0]",
           "llm2": "[14,14]", "vit2": "[32,0]"},
}


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS bytes)."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    return wall, rss


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(d, f))
    return total


def warm(path):
    for d, _, files in os.walk(path):
        for f in files:
            with open(os.path.join(d, f), "rb") as fh:
                while fh.read(16 << 20):
                    pass


def reset_cache(enabled):
    """Writes back dirty pages and, when allowed (root), drops the page cache. True if dropped."""
    subprocess.run(["sync"])
    if not enabled:
        return False
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("1\n")
        return True
    except OSError:
        return False


def touch_free_memory():
    """Writes to (almost) all free memory once, in a child process that then exits.

    On a virtual machine the host takes back guest pages that stay free (free page reporting);
    the first write to each costs a fault in the host. A copy fills the page cache with the whole
    output and so pays that on every page (on this machine: 6.4 s instead of 2.9 s for the 2B
    shape, right after deleting the previous copy), while mm-convert drops its pages as it goes
    and pays it on a few. Touching the free memory just before each step puts every step on the
    same, fast footing."""
    free = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemFree:"):
                free = int(line.split()[1]) * 1024
    n = max(0, free - (1 << 30))
    subprocess.run([sys.executable, "-c", f"b = bytearray({n})\nfor i in range(0, {n}, 4096): b[i] = 1"], check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="2b", choices=sorted(LAYOUTS))
    ap.add_argument("--work", default="/tmp/mm-convert-bench")
    ap.add_argument("--keep", action="store_true", help="keep the outputs (the generated input is always kept)")
    ap.add_argument("--lean", action="store_true", help="save disk (7B): delete each output once used, skip the one-worker checks")
    ap.add_argument("--rounds", type=int, default=5, help="time every step this many times; report the median and the best (default 5)")
    ap.add_argument("--no-drop-caches", dest="drop_caches", action="store_false",
                    help="do not drop the page cache before each step (it is dropped only when writable, i.e. as root)")
    ap.add_argument("--no-touch", dest="touch", action="store_false",
                    help="do not write to free memory before each step (see touch_free_memory)")
    a = ap.parse_args()
    L = LAYOUTS[a.size]
    subprocess.run(["swift", "build", "-c", "release", "--product", "mm-convert"], cwd=ROOT, check=True)
    os.makedirs(a.work, exist_ok=True)
    hf = os.path.join(a.work, f"hf-{a.size}")
    if not os.path.exists(os.path.join(hf, "config.json")):
        subprocess.run([BIN, "sample", "qwen2vl", hf, "--size", a.size, "--quiet"], check=True)
    outs = {k: os.path.join(a.work, k) for k in ["copy", "mm", "hf-back", "mm-resplit"]}
    for p in outs.values():
        shutil.rmtree(p, ignore_errors=True)
    size = du(hf)
    runs = [
        # The baseline writes the same bytes durably, as mm-convert does (it syncs every file
        # before renaming its output into place): copy, then fsync the copies.
        ("copy", ["sh", "-c", f'cp -r "{hf}" "{outs["copy"]}" && sync "{outs["copy"]}"/*']),
        ("hf_to_mm", [BIN, "Qwen2VLConverter", "hf_to_mm", "--quiet", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", outs["mm"],
                      "--cfg.parallel_config.tp_size", "2", "--cfg.parallel_config.llm_pp_layers", L["llm"],
                      "--cfg.parallel_config.vit_pp_layers", L["vit"]]),
        ("mm_to_hf", [BIN, "Qwen2VLConverter", "mm_to_hf", "--quiet", "--cfg.mm_dir", outs["mm"], "--cfg.hf_config.hf_dir", hf,
                      "--cfg.save_hf_dir", outs["hf-back"], "--cfg.parallel_config.tp_size", "2",
                      "--cfg.parallel_config.llm_pp_layers", L["llm_flat"], "--cfg.parallel_config.vit_pp_layers", L["vit_flat"]]),
        ("resplit", [BIN, "Qwen2VLConverter", "resplit", "--quiet", "--cfg.source_dir", outs["mm"], "--cfg.target_dir", outs["mm-resplit"],
                     "--cfg.source_parallel_config.tp_size", "2", "--cfg.source_parallel_config.llm_pp_layers", L["llm_flat"],
                     "--cfg.source_parallel_config.vit_pp_layers", L["vit_flat"], "--cfg.target_parallel_config.tp_size", "4",
                     "--cfg.target_parallel_config.llm_pp_layers", L["llm2"], "--cfg.target_parallel_config.vit_pp_layers", L["vit2"]]),
    ]
    # Each round times every step once; the figures are the medians over rounds, so one slow
    # moment of the disk does not decide a ratio. Before each step the page cache is reset to the
    # same state (when allowed: dropped, then the step's input read back in), because a cache
    # filled by earlier steps makes the kernel reclaim pages while writing and skews whatever runs
    # next.
    walls = {name: [] for name, _ in runs}
    peaks = {name: 0 for name, _ in runs}
    lean_verified = True
    dropped = False
    for r in range(a.rounds):
        for name, cmd in runs:
            target = {"copy": outs["copy"], "hf_to_mm": outs["mm"], "mm_to_hf": outs["hf-back"], "resplit": outs["mm-resplit"]}[name]
            shutil.rmtree(target, ignore_errors=True)
            dropped = reset_cache(a.drop_caches) or dropped
            warm(hf if name in ("copy", "hf_to_mm") else outs["mm"])
            if a.touch:
                touch_free_memory()
            wall, rss = timed(cmd)
            subprocess.run(["sync"])
            walls[name].append(wall)
            peaks[name] = max(peaks[name], rss)
            if a.lean and name == "copy":
                shutil.rmtree(outs["copy"], ignore_errors=True)
            if a.lean and name == "mm_to_hf":
                back = subprocess.run([BIN, "verify", hf, outs["hf-back"], "--quiet"], capture_output=True, text=True)
                lean_verified = lean_verified and back.returncode == 0
                shutil.rmtree(outs["hf-back"], ignore_errors=True)
        print(f"round {r + 1}: " + ", ".join(f"{n} {walls[n][-1]:.2f} s" for n, _ in runs), flush=True)
    cache = "page cache dropped and the step's input re-read before each step" if dropped else "warm cache (not dropped)"
    if a.touch:
        cache += ", free memory touched"
    print(f"\nQwen2-VL {a.size} shape, {size / 1e9:.2f} GB in bf16, {os.cpu_count()} cores, release build, {cache}")
    print(f"{a.rounds} round(s): median and best wall time; ratios are median to median and best to best;")
    print("peak RSS is the largest over the rounds")
    print(f"{'step':<10} {'median s':>9} {'x copy':>7} {'best s':>7} {'x copy':>7} {'GB/s':>6} {'peak RSS MB':>12}")
    med_base, best_base = statistics.median(walls["copy"]), min(walls["copy"])
    for name, _ in runs:
        med, best = statistics.median(walls[name]), min(walls[name])
        print(f"{name:<10} {med:9.2f} {med / med_base:7.2f} {best:7.2f} {best / best_base:7.2f} {size / med / 1e9:6.2f} {peaks[name] / 1e6:12.0f}")
    # Checks: parallel output equals a one-worker run; mm_to_hf gives back the input exactly.
    if a.lean:
        print("mm_to_hf reproduces the input:", "yes" if lean_verified else "NO")
        for p in outs.values():
            shutil.rmtree(p, ignore_errors=True)
        return
    # The parallel outputs equal a run with one worker, for each conversion.
    for name, cmd in runs[1:]:
        target = {"hf_to_mm": outs["mm"], "mm_to_hf": outs["hf-back"], "resplit": outs["mm-resplit"]}[name]
        single = target + "-1worker"
        shutil.rmtree(single, ignore_errors=True)
        timed([single if x == target else x for x in cmd] + ["--workers", "1"])
        same = subprocess.run(["diff", "-r", "-q", target, single], capture_output=True, text=True)
        print(f"{name}: parallel output == one-worker output:", "yes" if same.returncode == 0 else "NO\n" + same.stdout)
        shutil.rmtree(single, ignore_errors=True)
    back = subprocess.run([BIN, "verify", hf, outs["hf-back"], "--quiet"], capture_output=True, text=True)
    print("mm_to_hf reproduces the input:", "yes" if back.returncode == 0 else "NO\n" + back.stdout + back.stderr)
    if not a.keep:
        for p in outs.values():
            shutil.rmtree(p, ignore_errors=True)


main()
