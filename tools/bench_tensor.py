#!/usr/bin/env python3
"""One 2 GiB tensor split for TP=2, by rows and by columns: peak resident memory stays small.

Usage: tools/bench_tensor.py [--work DIR]
Writes DIR/hf/model.safetensors with one bf16 [32768, 32768] tensor (2 GiB), then runs
  mm-convert run (load hf; shard tp=2 dim=D; save mm) for D = 0 and 1
under /usr/bin/time -v and prints wall time and peak RSS. Uses the release build.
"""
import argparse, json, os, re, shutil, struct, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "mm-convert")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", default="/tmp/mm-convert-bench-tensor")
    a = ap.parse_args()
    subprocess.run(["swift", "build", "-c", "release", "--product", "mm-convert"], cwd=ROOT, check=True)
    hf = os.path.join(a.work, "hf")
    os.makedirs(hf, exist_ok=True)
    n = 32768
    size = n * n * 2
    path = os.path.join(hf, "model.safetensors")
    if not os.path.exists(path) or os.path.getsize(path) < size:
        header = json.dumps({"big.weight": {"dtype": "BF16", "shape": [n, n], "data_offsets": [0, size]}}, separators=(",", ":")).encode()
        header += b" " * (-len(header) % 8)
        block = os.urandom(64 << 20)
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(header)) + header)
            for i in range(size // len(block)):
                f.write(block[i % 7:] + block[:i % 7])
    print(f"input: one bf16 [{n}, {n}] tensor, {size / 2**30:.1f} GiB")
    for dim in (0, 1):
        out = os.path.join(a.work, f"mm-dim{dim}")
        shutil.rmtree(out, ignore_errors=True)
        recipe = os.path.join(a.work, f"split{dim}.recipe")
        open(recipe, "w").write(f'load hf "{hf}"\nshard tp=2 dim={dim}\nsave mm "{out}"\n')
        t0 = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-v", BIN, "run", recipe, "--quiet"], capture_output=True, text=True)
        wall = time.monotonic() - t0
        if p.returncode:
            sys.exit(p.stderr)
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) / 1024
        print(f"tp=2 split along dim {dim}: {wall:6.2f} s, peak RSS {rss:6.0f} MB")
        shutil.rmtree(out, ignore_errors=True)


main()
