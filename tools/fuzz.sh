#!/usr/bin/env bash
# Builds and runs the libFuzzer targets in Fuzz/ for a given time each.
#
#   tools/fuzz.sh TARGET[,TARGET...]|all SECONDS [extra libFuzzer flags...]
#   tools/fuzz.sh list                     # the target names
#
# Targets read untrusted input: safetensors (a whole .safetensors file), json (JSONReader, with a
# write/read round trip), recipe (recipe lexer + parser), yaml (YAMLReader file and flow values),
# zip (a whole torch.save file: zip directory, entries, CRCs, TorchCheckpoint.load, tensor walk),
# pickle (PickleReader on a data.pkl, torch storages as lazy zeros, tensor walk), dcp (a DCP
# .metadata: DCPMetadata decoding, chunk coverage, encode/decode round trip).
#
# The parsers live in SwiftPM library targets; this script compiles their sources directly with
# swiftc (-sanitize=fuzzer,address, -O) as modules Ops, DSL and CLI (only Sources/CLI/YAML), Ops's C
# modules (CarryLessCRC, BlockTranspose, PageCache) with clang (module maps in .build-fuzz/obj), then links
# each Fuzz/<Name>.swift entry point against them. Everything goes to .build-fuzz/ (git-ignored):
#   .build-fuzz/bin/fuzz-<target>            the fuzzer executables
#   .build-fuzz/run/<target>/corpus/         the growing corpus (kept between runs)
#   .build-fuzz/run/<target>/seeds/          seeds from ../shared/fixtures and Tests/Corpus
#   .build-fuzz/run/<target>/artifacts/      crash-*, timeout-*, oom-*, leak-* inputs
#   .build-fuzz/run/<target>/log.txt         libFuzzer's output
# A crash input replays with: LSAN_OPTIONS=suppressions=Fuzz/lsan.supp .build-fuzz/bin/fuzz-<target> <file>
#
# Prints per target: runs executed, cov and ft from libFuzzer's final stats, and the finding.
# Exits non-zero if any target found a crash, hang or excessive allocation (leaving its artifact).
# Environment: FUZZ_RSS_MB (default 2048), FUZZ_MALLOC_MB (largest single allocation, default 1024),
# FUZZ_TIMEOUT (seconds per input counted as a hang, default 10), FUZZ_OPT (default -O),
# FUZZ_OUT (build and run folder, default .build-fuzz). Fuzz/<target>.dict is passed as -dict.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The fixtures sit beside the clone (CI) or, for a git worktree one level deeper, beside its parent.
SHARED="$ROOT/../shared/fixtures"
[[ -d $SHARED ]] || SHARED="$ROOT/../../shared/fixtures"
OUT=${FUZZ_OUT:-$ROOT/.build-fuzz}
OBJ="$OUT/obj"
BIN="$OUT/bin"
OPT=${FUZZ_OPT:--O}
SAN="-sanitize=fuzzer,address"
# Swift's lazily initialized globals look leaked to LeakSanitizer at exit (see Fuzz/lsan.supp).
export LSAN_OPTIONS="suppressions=$ROOT/Fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
ALL_TARGETS="safetensors json recipe yaml zip pickle dcp"

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

# --- build -----------------------------------------------------------------------------------

# Compiles one module from a list of files, unless the object is newer than all of them.
# build_module NAME "DEPENDENCY MODULES" FILES...
build_module() {
    local name=$1 deps=$2; shift 2
    local obj="$OBJ/$name.o"
    if [[ -f "$obj" ]]; then
        local stale=0 f d
        for f in "$@"; do [[ "$f" -nt "$obj" ]] && { stale=1; break; }; done
        for d in $deps; do [[ "$OBJ/$d.o" -nt "$obj" ]] && stale=1; done
        (( stale )) || return 0
    fi
    echo "fuzz.sh: compiling module $name ($# files)" >&2
    swiftc -parse-as-library -wmo $OPT -g $SAN -module-name "$name" -I "$OBJ" $C_INCLUDES \
        -emit-module -emit-module-path "$OBJ/$name.swiftmodule" -c "$@" -o "$obj" || return 1
    touch "$obj"   # swiftc leaves an unchanged output untouched; mark it as up to date
}

sources() { find "$ROOT/$1" -name '*.swift' | sort; }

# The C targets Ops imports (our SIMD kernels and the cached read), each compiled with clang to one object, with the
# module map swiftc finds it by in $OBJ/<name>/.
C_MODULES="CarryLessCRC BlockTranspose PageCache"
C_INCLUDES=""
for c in $C_MODULES; do C_INCLUDES+=" -I $OBJ/$c"; done

# build_c_module NAME: Sources/NAME/*.c (and the private headers beside them) with the header Sources/NAME/include/NAME.h.
build_c_module() {
    local name=$1 src="$ROOT/Sources/$1" obj="$OBJ/$1.o" f stale=0
    mkdir -p "$OBJ/$name"
    printf 'module %s {\n    header "%s"\n    export *\n}\n' "$name" "$src/include/$name.h" >"$OBJ/$name/module.modulemap"
    if [[ -f "$obj" ]]; then
        for f in "$src"/*.[ch] "$src/include/$name.h"; do [[ -e "$f" && "$f" -nt "$obj" ]] && stale=1; done
        (( stale )) || return 0
    fi
    echo "fuzz.sh: compiling C module $name" >&2
    local parts=()
    for f in "$src"/*.c; do
        clang $OPT -g -fsanitize=fuzzer-no-link,address -I "$src/include" -c "$f" -o "$OBJ/$name/$(basename "$f" .c).o" || return 1
        parts+=("$OBJ/$name/$(basename "$f" .c).o")
    done
    # One object per module whatever its number of C files (a relocatable link).
    ld -r "${parts[@]}" -o "$obj" || return 1
}

# Which modules (in dependency order) and which entry file each target needs.
target_modules() {
    case $1 in
        safetensors|json|zip|pickle|dcp) echo "Ops" ;;
        recipe) echo "Ops DSL" ;;
        yaml) echo "Ops CLI" ;;
    esac
}
target_entry() {
    case $1 in
        safetensors) echo Safetensors ;;
        json) echo JSON ;;
        recipe) echo Recipe ;;
        yaml) echo YAML ;;
        zip) echo Zip ;;
        pickle) echo Pickle ;;
        dcp) echo DCP ;;
    esac
}

build_target() {
    local t=$1 m objs=()
    mkdir -p "$OBJ" "$BIN"
    for m in $C_MODULES; do
        build_c_module "$m" || return 1
        objs+=("$OBJ/$m.o")
    done
    for m in $(target_modules "$t"); do
        case $m in
            Ops) build_module Ops "$C_MODULES" $(sources Sources/Ops) || return 1 ;;
            DSL) build_module DSL Ops $(sources Sources/DSL) || return 1 ;;
            CLI) build_module CLI Ops $(sources Sources/CLI/YAML) || return 1 ;;
        esac
        objs+=("$OBJ/$m.o")
    done
    local entry="$ROOT/Fuzz/$(target_entry "$t").swift" exe="$BIN/fuzz-$t"
    local stale=1
    if [[ -f "$exe" ]]; then
        stale=0
        for f in "$entry" "${objs[@]}"; do [[ "$f" -nt "$exe" ]] && stale=1; done
    fi
    if (( stale )); then
        echo "fuzz.sh: linking $exe" >&2
        swiftc -parse-as-library $OPT -g $SAN -module-name "Fuzz_$t" -I "$OBJ" $C_INCLUDES "$entry" "${objs[@]}" -o "$exe" \
            2> >(grep -v "Cannot export local symbol" >&2) || return 1
        touch "$exe"
    fi
}

# --- seeds -----------------------------------------------------------------------------------

# Writes the JSON header of a .safetensors file (and header-only file) as separate seeds.
header_seeds() {
    local src=$1 dir=$2 base
    base=$(basename "$src" .safetensors)
    python3 - "$src" "$dir/$base" <<'PY' 2>/dev/null || true
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, "rb") as f:
    head = f.read(8)
    if len(head) < 8: sys.exit(0)
    (n,) = struct.unpack("<Q", head)
    if n > 10_000_000: sys.exit(0)
    body = f.read(n)
open(dst + ".header.json", "wb").write(body)
open(dst + ".header-only.safetensors", "wb").write(head + body)
PY
}

collect_seeds() {
    local t=$1 dir="$OUT/run/$1/seeds" f i
    rm -rf "$dir"; mkdir -p "$dir"
    case $t in
        safetensors)
            find "$ROOT/Tests/Corpus/safetensors" -type f -name '*.safetensors' -exec cp -t "$dir" {} + 2>/dev/null
            i=0; for f in "$ROOT"/Tests/Corpus/safetensors/*/*.safetensors; do [[ -f $f ]] && cp "$f" "$dir/sub$((i++))-$(basename "$f")"; done
            for f in "$SHARED"/hf/*/*.safetensors; do
                [[ -f $f ]] || continue
                cp "$f" "$dir/$(basename "$(dirname "$f")")-$(basename "$f")"
                header_seeds "$f" "$dir"
            done
            rm -f "$dir"/*.header.json ;;
        json)
            i=0
            for f in "$SHARED"/hf/*/*.json "$SHARED"/hf/*.json "$SHARED"/golden/*.json "$SHARED"/torch/*.json \
                     "$ROOT"/Tests/Corpus/safetensors/*/*.json "$ROOT"/Tests/Corpus/json/*; do
                [[ -f $f ]] && cp "$f" "$dir/$((i++))-$(basename "$f")"
            done
            for f in "$SHARED"/hf/*/*.safetensors "$ROOT"/Tests/Corpus/safetensors/*.safetensors; do
                [[ -f $f ]] && header_seeds "$f" "$dir"
            done
            rm -f "$dir"/*.header-only.safetensors ;;
        recipe)
            i=0
            while IFS= read -r f; do cp "$f" "$dir/$((i++))-$(basename "$f")"; done < <(
                find "$ROOT/Tests/Corpus/recipes" "$ROOT/Recipes" "$ROOT/examples" -type f -name '*.recipe' 2>/dev/null)
            # Fenced code blocks of the recipe language's README are good seeds too.
            [[ -f "$ROOT/Recipes/README.md" ]] && awk -v d="$dir" '
                /^ *```/ { if (inblock) { inblock = 0; close(f) } else { inblock = 1; f = sprintf("%s/readme-%03d.recipe", d, ++n) } ; next }
                inblock { print > f }' "$ROOT/Recipes/README.md" ;;
        yaml)
            find "$ROOT/Tests/Corpus/yaml" -type f -exec cp -t "$dir" {} + 2>/dev/null ;;
        zip)
            i=0
            for f in "$SHARED"/torch/*.pt "$SHARED"/golden/*/release/*/model_optim_rng.pt "$ROOT"/Tests/Corpus/torch/*.pt "$ROOT"/Tests/Corpus/torch_untyped/*.pt \
                     $(find "$ROOT/Tests/Corpus/mm" -name '*.pt' 2>/dev/null); do
                [[ -f $f ]] && cp "$f" "$dir/$((i++))-$(basename "$f")"
            done ;;
        pickle)
            # The data.pkl of every checkpoint fixture.
            python3 - "$dir" "$SHARED"/torch/*.pt "$SHARED"/golden/*/release/*/model_optim_rng.pt \
                "$ROOT"/Tests/Corpus/torch_untyped/*.pt <<'PY' 2>/dev/null || true
import sys, zipfile
out = sys.argv[1]
for i, path in enumerate(sys.argv[2:]):
    try:
        z = zipfile.ZipFile(path)
    except Exception:
        continue
    for n in z.namelist():
        if n.endswith("data.pkl"):
            open("%s/%d-%s" % (out, i, n.replace("/", "_")), "wb").write(z.read(n))
PY
            find "$ROOT/Tests/Corpus/torch" -type f -name '*.pkl' -exec cp -t "$dir" {} + 2>/dev/null ;;
        dcp)
            # Every DCP fixture's .metadata (torch's protocol 4 with memo, the hand-made protocol 2).
            i=0
            while IFS= read -r f; do cp "$f" "$dir/$((i++))-metadata"; done < <(find "$SHARED/dcp" -name .metadata 2>/dev/null | sort) ;;
    esac
    # Crash reproducers added to Tests/Corpus/fuzz/<target> replay as seeds as well.
    [[ -d "$ROOT/Tests/Corpus/fuzz/$t" ]] && cp -r "$ROOT/Tests/Corpus/fuzz/$t/." "$dir/" 2>/dev/null
    true
}

# --- run -------------------------------------------------------------------------------------

run_target() {
    local t=$1 secs=$2; shift 2
    local run="$OUT/run/$t" exe="$BIN/fuzz-$t"
    mkdir -p "$run/corpus" "$run/artifacts"
    collect_seeds "$t"
    local extra=()
    [[ $t == safetensors || $t == zip ]] && extra+=(-max_len=1048576)
    [[ -f "$ROOT/Fuzz/$t.dict" ]] && extra+=(-dict="$ROOT/Fuzz/$t.dict")
    local start=$SECONDS rc
    "$exe" "$run/corpus" "$run/seeds" \
        -max_total_time="$secs" -print_final_stats=1 \
        -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -malloc_limit_mb="${FUZZ_MALLOC_MB:-1024}" \
        -artifact_prefix="$run/artifacts/" "${extra[@]}" "$@" >"$run/log.txt" 2>&1
    rc=$?
    local took=$((SECONDS - start))
    local runs cov ft finding artifact
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$run/log.txt" | tail -1 | grep -o '[0-9]*$')
    cov=$(grep -o 'cov: [0-9]*' "$run/log.txt" | tail -1 | grep -o '[0-9]*$')
    ft=$(grep -o 'ft: [0-9]*' "$run/log.txt" | tail -1 | grep -o '[0-9]*$')
    if (( rc == 0 )); then
        finding="none"
    else
        artifact=$(grep -o "Test unit written to [^ ]*" "$run/log.txt" | tail -1 | sed 's/Test unit written to //')
        local kind
        kind=$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer): [a-zA-Z0-9 -]+|Fatal error: .*|SUMMARY: [^ ]+ [^ ]+' "$run/log.txt" | head -1)
        finding="CRASH (exit $rc) ${kind:-see log}; input: ${artifact:-none}; log: $run/log.txt"
    fi
    printf '%-12s %4ss  runs %-10s cov %-6s ft %-7s %s\n' "$t" "$took" "${runs:-?}" "${cov:-?}" "${ft:-?}" "$finding"
    return $rc
}

# --- main ------------------------------------------------------------------------------------

# In a function, read whole before it runs: editing this file during a run cannot break the run.
main() {
    [[ ${1:-} == list ]] && { echo $ALL_TARGETS; return 0; }
    [[ $# -ge 2 ]] || usage
    what=$1 secs=$2; shift 2
    [[ $secs =~ ^[0-9]+$ ]] || usage
    if [[ $what == all ]]; then targets=$ALL_TARGETS; else targets=${what//,/ }; fi
    for t in $targets; do
        [[ -n $(target_entry "$t") ]] || { echo "fuzz.sh: unknown target '$t' (targets: $ALL_TARGETS)" >&2; return 2; }
    done

    begin=$SECONDS
    for t in $targets; do build_target "$t" || { echo "fuzz.sh: build of $t failed" >&2; return 3; }; done
    echo "fuzz.sh: built in $((SECONDS - begin))s; running each target for ${secs}s" >&2
    failed=0
    for t in $targets; do run_target "$t" "$secs" "$@" || failed=1; done
    echo "fuzz.sh: total $((SECONDS - begin))s" >&2
    return $failed
}

main "$@"; exit $?
