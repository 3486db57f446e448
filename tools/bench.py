#!/usr/bin/env python3
"""Benchmark: mm-convert against a plain copy of the same bytes, in one run, on this machine.

Usage: tools/bench.py [--size 2b|7b|moe|dcp-2b|...] [--rounds N] [--work DIR] [--keep] [--lean] [--no-drop-caches]
Builds the release binary, generates a checkpoint of real shape with `mm-convert sample`, then
times, in each of N rounds (default 5), each step under /usr/bin/time -v with its input in the
page cache (as root the cache is first dropped, so every step starts from the same state) and
free memory touched once (a virtual machine's host takes back idle pages; see touch_free_memory):
  copy      cp of the HF directory and an fsync of the copies (the baseline: the same bytes read
            and written durably once)
  hf_to_mm  2b, 7b (Qwen2-VL): tp=2, pp=4, uneven layer lists
            moe (Qwen3-VL MoE, `sample qwen3vl_moe --size bench`: 48 layers x 128 experts, about
            2.5 GB, whose 606 HF tensors become some 26,000 in the rank files, one per expert and
            TP rank): tp=2, ep=2, pp=2
  mm_to_hf  back to HF
  resplit   2b, 7b: tp=2/pp=4 -> tp=4/pp=2; moe: tp=2/ep=2/pp=2 -> tp=1/ep=4/pp=2
The later families' real shapes (glm4v-9b, omni-7b, videoalign-2b, deepseekvl2-small) time
hf_to_mm (TP 2 with PP; DeepSeek-VL2 TP 1, EP 8) and mm_to_hf back; run them with --lean.
dcp-2b (Qwen3-VL-2B shape) times Qwen3VLConverter hf_to_dcp and dcp_to_hf of a training-style
checkpoint written once by torch (tools/make_train_dcp.py: 2 FSDP2 ranks, optimizer state), and
measures what dcp_to_hf reads from a cold cache (the optimizer state must not be read).
and prints the median and best wall seconds, their ratios to the copy's, throughput and peak
resident memory. (The disk of a shared machine has slow moments: the same copy takes 2.8 s or 5.5 s.)
For moe and the later families it also prints each step's tensor counts (in and out, over all
files; from `mm-convert inspect --json`), the median wall time per tensor, so the cost of many
small tensors shows, and the median CPU time (user + system), which a slow moment of the disk does
not inflate. It then checks that the outputs equal a run with one worker (`--workers 1`) and that
mm_to_hf gives back the input (for those sizes also file by file, byte for byte).
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, ".build", "release", "mm-convert")


def qwen2vl_steps(hf, outs):
    L = {"llm": "[[4,8,8,8]]", "vit": "[[32,0,0,0]]", "llm_flat": "[4,8,8,8]", "vit_flat": "[32,0,0,0]",
         "llm2": "[14,14]", "vit2": "[32,0]"}
    return [
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


def qwen3vl_moe_steps(hf, outs):
    # 48 LLM layers over 2 stages; the bench size's ViT has depth 4, all on the first stage. The
    # layer lists of mm_to_hf and of resplit's source are read from the rank files.
    C = [BIN, "Qwen3VLMegatronConverter"]
    return [
        ("hf_to_mm", C + ["hf_to_mm", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", outs["mm"],
                          "--cfg.parallel_config.tp_size", "2", "--cfg.parallel_config.ep_size", "2",
                          "--cfg.parallel_config.llm_pp_layers", "[[24,24]]", "--cfg.parallel_config.vit_pp_layers", "[[4,0]]",
                          "--force", "--quiet"]),
        ("mm_to_hf", C + ["mm_to_hf", "--cfg.mm_dir", outs["mm"], "--cfg.hf_config.hf_dir", hf,
                          "--cfg.save_hf_dir", outs["hf-back"], "--cfg.parallel_config.tp_size", "2", "--quiet"]),
        ("resplit", C + ["resplit", "--cfg.source_dir", outs["mm"], "--cfg.target_dir", outs["mm-resplit"],
                         "--cfg.source_parallel_config.tp_size", "2", "--cfg.target_parallel_config.tp_size", "1",
                         "--cfg.target_parallel_config.ep_size", "4", "--cfg.target_parallel_config.llm_pp_layers", "[24,24]",
                         "--cfg.target_parallel_config.vit_pp_layers", "[4,0]", "--quiet"]),
    ]


def round_trip_steps(converter, to_mm, back=()):
    """hf_to_mm with the options `to_mm`, then mm_to_hf (layer lists read from the files) with
    `back`: the real-shape round trip of one more family."""
    C = [BIN, converter]
    return lambda hf, outs: [
        ("hf_to_mm", C + ["hf_to_mm", "--cfg.hf_config.hf_dir", hf, "--cfg.mm_dir", outs["mm"], "--quiet"] + list(to_mm)),
        ("mm_to_hf", C + ["mm_to_hf", "--cfg.mm_dir", outs["mm"], "--cfg.hf_config.hf_dir", hf,
                          "--cfg.save_hf_dir", outs["hf-back"], "--quiet"] + list(back)),
    ]


def wan_steps(pp_layers, resplit_layers):
    """WanConverter (the video converters' cfg: source_path / target_path): hf_to_mm with PP/VPP,
    mm_to_hf back to the diffusers folder, resplit to another PP layout."""
    C = [BIN, "WanConverter"]
    return lambda hf, outs: [
        ("hf_to_mm", C + ["hf_to_mm", "--cfg.source_path", hf, "--cfg.target_path", outs["mm"], "--quiet",
                          "--cfg.target_parallel_config.pp_layers", pp_layers]),
        ("mm_to_hf", C + ["mm_to_hf", "--cfg.source_path", outs["mm"], "--cfg.hf_dir", hf, "--cfg.target_path", outs["hf-back"], "--quiet"]),
        ("resplit", C + ["resplit", "--cfg.source_path", outs["mm"], "--cfg.target_path", outs["mm-resplit"], "--quiet",
                         "--cfg.target_parallel_config.pp_layers", resplit_layers]),
    ]


def dcp_steps(hf, outs):
    """Qwen3VLConverter hf_to_dcp, and dcp_to_hf of the training-style checkpoint (see prepare_train)."""
    C = [BIN, "Qwen3VLConverter"]
    return [
        ("hf_to_dcp", C + ["hf_to_dcp", "--hf_dir", hf, "--dcp_dir", outs["dcp"], "--quiet"]),
        ("dcp_to_hf", C + ["dcp_to_hf", "--load_dir", outs["train"], "--save_dir", outs["hf-back"], "--model_assets_dir", hf, "--quiet"]),
    ]


def prepare_train(hf, outs):
    """The training-style checkpoint dcp_to_hf reads, written once by torch (tools/make_train_dcp.py,
    with $MM_CONVERT_PYTHON or the interop venv): 2 FSDP2 ranks, Shard(0) chunks, AdamW state in f32."""
    if os.path.exists(os.path.join(outs["train"], "latest_checkpointed_iteration.txt")):
        return
    python = os.environ.get("MM_CONVERT_PYTHON") or os.path.expanduser("~/.cache/mm-convert-venv/bin/python")
    subprocess.run([python, os.path.join(ROOT, "tools", "make_train_dcp.py"), hf, outs["train"], "--prefix", "model."], check=True)


def pp(tp, llm, vit, *more):
    return ["--cfg.parallel_config.tp_size", str(tp), "--cfg.parallel_config.llm_pp_layers", llm,
            "--cfg.parallel_config.vit_pp_layers", vit] + list(more)


# --size: the sample to generate (family, size), the title of the table, the conversions, and
# whether to report tensor counts and compare mm_to_hf's files byte for byte.
CASES = {
    "2b": {"sample": ("qwen2vl", "2b"), "title": "Qwen2-VL 2b shape", "steps": qwen2vl_steps, "tensors": False},
    "7b": {"sample": ("qwen2vl", "7b"), "title": "Qwen2-VL 7b shape", "steps": qwen2vl_steps, "tensors": False},
    "moe": {"sample": ("qwen3vl_moe", "bench"), "title": "Qwen3-VL MoE bench shape (48 layers x 128 experts)",
            "steps": qwen3vl_moe_steps, "tensors": True},
    # One real shape per family of the later converters: hf_to_mm at TP 2 with PP, and back.
    "glm4v-9b": {"sample": ("glm4v", "9b"), "title": "GLM-4.1V-9B shape", "tensors": True,
                 "steps": round_trip_steps("GlmConverter", pp(2, "[[5,12,12,11]]", "[[24,0,0,0]]"), ["--cfg.parallel_config.tp_size", "2"])},
    "omni-7b": {"sample": ("qwen2_5omni", "7b"), "title": "Qwen2.5-Omni-7B shape (thinker; talker and token2wav from the original)",
                "tensors": True,
                "steps": round_trip_steps("Qwen2_5_OmniConverter", pp(2, "[[11,17]]", "[[32,0]]", "--cfg.parallel_config.audio_pp_layers", "[[32,0]]"),
                                          ["--cfg.parallel_config.tp_size", "2"])},
    "videoalign-2b": {"sample": ("videoalign", "2b"), "title": "VideoAlign on Qwen2-VL-2B shape", "tensors": True,
                      "steps": round_trip_steps("VideoAlignConverter", pp(2, "[[4,8,8,8]]", "[[32,0,0,0]]"), ["--cfg.parallel_config.tp_size", "2"])},
    # DCP (FSDP2): hf_to_dcp, and dcp_to_hf of a training checkpoint (2 ranks' chunks + optimizer
    # state, about 5x the model bytes) of which only the model's entries may be read.
    "dcp-2b": {"sample": ("qwen3vl", "2b"), "title": "Qwen3-VL-2B shape, DCP (Qwen3VLConverter)", "tensors": False,
               "identical": True, "steps": dcp_steps, "prepare": prepare_train, "back": "dcp_to_hf", "cold": True},
    # Video: Wan2.1-T2V-14B (40 blocks of width 5120, about 28.6 GB in bf16) and the 1.3B.
    "wan-14b": {"sample": ("wan", "14b"), "title": "Wan2.1-T2V-14B shape (diffusers transformer/)", "tensors": True,
                "steps": wan_steps("[[10,10],[10,10]]", "[20,20]")},
    "wan-5b": {"sample": ("wan", "5b"), "title": "Wan2.2-TI2V-5B shape (diffusers transformer/)", "tensors": True,
               "steps": wan_steps("[[8,7],[8,7]]", "[15,15]")},
    "wan-1.3b": {"sample": ("wan", "1.3b"), "title": "Wan2.1-T2V-1.3B shape (diffusers transformer/)", "tensors": True,
                 "steps": wan_steps("[[8,7],[8,7]]", "[15,15]")},
    "deepseekvl2-small": {"sample": ("deepseekvl2", "small"), "title": "DeepSeek-VL2-Small shape (64 experts over EP 8)", "tensors": True,
                          "steps": round_trip_steps("DeepSeekVLConverter", pp(1, "[[13,14]]", "[[27,0]]", "--cfg.parallel_config.ep_size", "8"))},
}


def timed(cmd):
    """Runs cmd under /usr/bin/time -v; returns (wall seconds, peak RSS bytes, CPU seconds: user + system)."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stdout}\n{p.stderr}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", p.stderr).group(1)) for k in ("User", "System"))
    return wall, rss, cpu


def du(path):
    total = 0
    for d, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(d, f))
    return total


def tensor_count(path):
    """The number of tensors in a checkpoint directory (HF: all shards; MindSpeed-MM: all rank files)."""
    p = subprocess.run([BIN, "inspect", path, "--json"], capture_output=True, text=True, check=True)
    return json.loads(p.stdout)["totals"]["tensors"]


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


def cold_read(case, runs, back_step, hf, outs, drop):
    """What the way back reads from disk, cache dropped first: the model's entries of the training
    checkpoint only, never its optimizer state (rusage's block inputs, 512-byte units)."""
    name, cmd, target, source = next(r for r in runs if r[0] == back_step)
    shutil.rmtree(target, ignore_errors=True)
    if not reset_cache(drop):
        print(f"\n{back_step} from a cold cache: not measured (dropping the page cache needs root)")
        return
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    read = int(re.search(r"File system inputs: (\d+)", p.stderr).group(1)) * 512
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1)) * 1024
    model, total = du(hf), du(source)
    print(f"\n{back_step} from a cold cache: {wall:.2f} s, read {read / 1e9:.2f} GB from disk; the checkpoint holds {total / 1e9:.2f} GB, "
          f"its model entries {model / 1e9:.2f} GB (optimizer state and the rest {(total - model) / 1e9:.2f} GB); "
          f"peak RSS {rss / 1e6:.0f} MB; optimizer bytes read: {'none' if read < 1.1 * model else 'SOME'}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="2b", choices=sorted(CASES),
                    help="2b, 7b: Qwen2-VL; moe: Qwen3-VL MoE, 48 layers x 128 experts, about 2.5 GB; wan-14b (28.6 GB), wan-5b (Wan2.2-TI2V, about 10 GB), wan-1.3b; glm4v-9b (20.6 GB), "
                         "omni-7b (18 GB), videoalign-2b (4.4 GB), deepseekvl2-small (32 GB): one round trip per family (default 2b)")
    ap.add_argument("--work", default="/tmp/mm-convert-bench")
    ap.add_argument("--keep", action="store_true", help="keep the outputs (the generated input is always kept)")
    ap.add_argument("--lean", action="store_true", help="save disk (7B): delete each output once used, skip the one-worker checks")
    ap.add_argument("--rounds", type=int, default=5, help="time every step this many times; report the median and the best (default 5)")
    ap.add_argument("--no-drop-caches", dest="drop_caches", action="store_false",
                    help="do not drop the page cache before each step (it is dropped only when writable, i.e. as root)")
    ap.add_argument("--no-touch", dest="touch", action="store_false",
                    help="do not write to free memory before each step (see touch_free_memory)")
    a = ap.parse_args()
    case = CASES[a.size]
    subprocess.run(["swift", "build", "-c", "release", "--product", "mm-convert"], cwd=ROOT, check=True)
    os.makedirs(a.work, exist_ok=True)
    hf = os.path.join(a.work, f"hf-{a.size}")
    if not os.path.exists(os.path.join(hf, "config.json")):
        family, sample_size = case["sample"]
        subprocess.run([BIN, "sample", family, hf, "--size", sample_size, "--quiet"], check=True)
    outs = {k: os.path.join(a.work, k) for k in ["copy", "mm", "hf-back", "mm-resplit", "dcp"]}
    for p in outs.values():
        shutil.rmtree(p, ignore_errors=True)
    # Inputs made once and kept, like the sample.
    outs["train"] = os.path.join(a.work, f"train-{a.size}")
    if "prepare" in case:
        case["prepare"](hf, outs)
    back_step = case.get("back", "mm_to_hf")
    identical = case["tensors"] or case.get("identical", False)
    targets = {"hf_to_mm": outs["mm"], "mm_to_hf": outs["hf-back"], "resplit": outs["mm-resplit"],
               "hf_to_dcp": outs["dcp"], "dcp_to_hf": outs["hf-back"]}
    sources = {"hf_to_mm": hf, "hf_to_dcp": hf, "dcp_to_hf": outs["train"]}
    size = du(hf)
    # Each step: name, command, the directory it writes, the directory it reads (warmed before it runs).
    runs = [
        # The baseline writes the same bytes durably, as mm-convert does (it syncs every file
        # before renaming its output into place): copy, then fsync the copies.
        ("copy", ["sh", "-c", f'cp -r "{hf}" "{outs["copy"]}" && sync "{outs["copy"]}"/*'], outs["copy"], hf),
    ] + [(name, cmd, targets[name], sources.get(name, outs["mm"])) for name, cmd in case["steps"](hf, outs)]
    # Each round times every step once; the figures are the medians over rounds, so one slow
    # moment of the disk does not decide a ratio. Before each step the page cache is reset to the
    # same state (when allowed: dropped, then the step's input read back in), because a cache
    # filled by earlier steps makes the kernel reclaim pages while writing and skews whatever runs
    # next.
    walls = {name: [] for name, *_ in runs}
    peaks = {name: 0 for name, *_ in runs}
    cpus = {name: [] for name, *_ in runs}
    counts = {hf: tensor_count(hf)} if case["tensors"] else {}
    lean_verified = True
    lean_identical = True
    dropped = False
    for r in range(a.rounds):
        for name, cmd, target, source in runs:
            shutil.rmtree(target, ignore_errors=True)
            dropped = reset_cache(a.drop_caches) or dropped
            # A training checkpoint is mostly optimizer state that dcp_to_hf never reads: warming
            # it all would crowd the model's pages out of the cache. Such a case runs every step,
            # the copy included, from a cold cache instead.
            if not case.get("cold"):
                warm(source)
            if a.touch:
                touch_free_memory()
                # The touch makes the kernel reclaim per memory zone, which pushed ~8% of a warmed
                # input out of the cache (`fincore`), in holes all through its files: read them back.
                if not case.get("cold"):
                    warm(source)
            wall, rss, cpu = timed(cmd)
            subprocess.run(["sync"])
            walls[name].append(wall)
            cpus[name].append(cpu)
            peaks[name] = max(peaks[name], rss)
            if case["tensors"] and target not in counts:
                counts[target] = tensor_count(target)
            if a.lean and name == "copy":
                shutil.rmtree(outs["copy"], ignore_errors=True)
            if a.lean and name == back_step:
                back = subprocess.run([BIN, "verify", hf, outs["hf-back"], "--quiet"], capture_output=True, text=True)
                lean_verified = lean_verified and back.returncode == 0
                if identical:
                    same = subprocess.run(["diff", "-r", "-q", hf, outs["hf-back"]], capture_output=True, text=True)
                    lean_identical = lean_identical and same.returncode == 0
                shutil.rmtree(outs["hf-back"], ignore_errors=True)
        print(f"round {r + 1}: " + ", ".join(f"{n} {walls[n][-1]:.2f} s" for n, *_ in runs), flush=True)
    cache = "page cache dropped and the step's input re-read before each step" if dropped else "warm cache (not dropped)"
    if dropped and case.get("cold"):
        cache = "page cache dropped before each step (cold: inputs read from disk)"
    if a.touch:
        cache += ", free memory touched"
    print(f"\n{case['title']}, {size / 1e9:.2f} GB in bf16, {os.cpu_count()} cores, release build, {cache}")
    print(f"{a.rounds} round(s): median and best wall time; ratios are median to median and best to best;")
    print("peak RSS is the largest over the rounds")
    print(f"{'step':<10} {'median s':>9} {'x copy':>7} {'best s':>7} {'x copy':>7} {'GB/s':>6} {'peak RSS MB':>12}")
    med_base, best_base = statistics.median(walls["copy"]), min(walls["copy"])
    for name, *_ in runs:
        med, best = statistics.median(walls[name]), min(walls[name])
        print(f"{name:<10} {med:9.2f} {med / med_base:7.2f} {best:7.2f} {best / best_base:7.2f} {size / med / 1e9:6.2f} {peaks[name] / 1e6:12.0f}")
    if case["tensors"]:
        # Time per tensor: the median wall time over the larger of the two counts (the Megatron
        # side); "over copy" is the time beyond the copy's median, per tensor. CPU is user +
        # system time of the step (all its threads), which a busy disk does not inflate.
        print("\ntensors in the step's input and output (all shards / all rank files); time per tensor is the")
        print("median wall time over the larger count; 'over copy' is (median - copy's median) over that count;")
        print("cpu s is the median user + system time")
        print(f"{'step':<10} {'tensors in':>11} {'tensors out':>12} {'median s':>9} {'us/tensor':>10} {'over copy':>10} {'cpu s':>6}")
        for name, _, target, source in runs:
            n = max(counts[source], counts[target])
            med = statistics.median(walls[name])
            print(f"{name:<10} {counts[source]:11d} {counts[target]:12d} {med:9.2f} {med / n * 1e6:10.1f} {(med - med_base) / n * 1e6:10.1f}"
                  f" {statistics.median(cpus[name]):6.2f}")
    if "prepare" in case:
        cold_read(case, runs, back_step, hf, outs, a.drop_caches)
    # Checks: parallel output equals a one-worker run; mm_to_hf gives back the input exactly.
    if a.lean:
        print(f"{back_step} reproduces the input:", "yes" if lean_verified else "NO")
        if identical:
            print(f"{back_step} output is byte-identical to the input (every file):", "yes" if lean_identical else "NO")
        for k, p in outs.items():
            if k != "train":   # an input, kept like the sample
                shutil.rmtree(p, ignore_errors=True)
        return
    # The parallel outputs equal a run with one worker, for each conversion.
    for name, cmd, target, _ in runs[1:]:
        single = target + "-1worker"
        shutil.rmtree(single, ignore_errors=True)
        timed([single if x == target else x for x in cmd] + ["--workers", "1"])
        same = subprocess.run(["diff", "-r", "-q", target, single], capture_output=True, text=True)
        print(f"{name}: parallel output == one-worker output:", "yes" if same.returncode == 0 else "NO\n" + same.stdout)
        shutil.rmtree(single, ignore_errors=True)
    back = subprocess.run([BIN, "verify", hf, outs["hf-back"], "--quiet"], capture_output=True, text=True)
    print(f"{back_step} reproduces the input:", "yes" if back.returncode == 0 else "NO\n" + back.stdout + back.stderr)
    if identical:
        same = subprocess.run(["diff", "-r", "-q", hf, outs["hf-back"]], capture_output=True, text=True)
        print(f"{back_step} output is byte-identical to the input (every file):", "yes" if same.returncode == 0 else "NO\n" + same.stdout)
    if not a.keep:
        for k, p in outs.items():
            if k != "train":   # an input, kept like the sample
                shutil.rmtree(p, ignore_errors=True)


main()
