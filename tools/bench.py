#!/usr/bin/env python3
"""Benchmark: mm-convert against a plain copy of the same bytes, in one run, on this machine.

Usage: tools/bench.py [--size 2b|7b] [--work DIR] [--keep]
Builds the release binary, generates a Qwen2-VL checkpoint of real shape with `mm-convert sample`,
then times (warm page cache, each under /usr/bin/time -v):
  copy      cp of the HF directory and an fsync of the copies (the baseline: the same bytes read
            and written durably once)
  hf_to_mm  tp=2, pp=4, uneven layer lists
  mm_to_hf  back to HF
  resplit   tp=2/pp=4 -> tp=4/pp=2
and prints wall seconds, the ratio to the copy, throughput and peak resident memory. It then checks
that the outputs equal a run with one worker (`--workers 1`) and that mm_to_hf gives back the input.
"""
import argparse, os, re, shutil, subprocess, sys, time

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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="2b", choices=sorted(LAYOUTS))
    ap.add_argument("--work", default="/tmp/mm-convert-bench")
    ap.add_argument("--keep", action="store_true", help="keep the outputs (the generated input is always kept)")
    ap.add_argument("--lean", action="store_true", help="save disk (7B): delete each output once used, skip the one-worker checks")
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
    results = []
    lean_verified = False
    for name, cmd in runs:
        warm(hf if name in ("copy", "hf_to_mm") else outs["mm"])
        subprocess.run(["sync"])
        wall, rss = timed(cmd)
        subprocess.run(["sync"])
        results.append((name, wall, rss))
        if a.lean and name == "copy":
            shutil.rmtree(outs["copy"], ignore_errors=True)
        if a.lean and name == "mm_to_hf":
            back = subprocess.run([BIN, "verify", hf, outs["hf-back"], "--quiet"], capture_output=True, text=True)
            lean_verified = back.returncode == 0
            shutil.rmtree(outs["hf-back"], ignore_errors=True)
    base = results[0][1]
    print(f"\nQwen2-VL {a.size} shape, {size / 1e9:.2f} GB in bf16, {os.cpu_count()} cores, release build, warm cache")
    print(f"{'step':<10} {'wall s':>8} {'x copy':>8} {'GB/s':>8} {'peak RSS MB':>12}")
    for name, wall, rss in results:
        print(f"{name:<10} {wall:8.2f} {wall / base:8.2f} {size / wall / 1e9:8.2f} {rss / 1e6:12.0f}")
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
