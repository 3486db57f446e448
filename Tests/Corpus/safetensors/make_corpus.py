#!/usr/bin/env python3
"""Writes the malformed safetensors corpus next to this script (standard library only).

Each file is tiny and breaks exactly one rule; SafetensorsCorpusTests asserts the error for each.
Re-running it reproduces the committed files byte for byte.
"""
import json, os, struct

HERE = os.path.dirname(os.path.abspath(__file__))


def header_bytes(text: bytes, pad=True):
    if pad:
        text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text


def st(header: dict, data: bytes) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    return header_bytes(text) + data


def write(name, content: bytes):
    path = os.path.join(HERE, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)


def t(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


F32x2 = struct.pack("<2f", 1.0, 2.0)
valid = st({"__metadata__": {"format": "pt"}, "a": t("F32", [2], 0, 8), "b": t("F32", [2], 8, 16)}, F32x2 * 2)

write("tiny.safetensors", b"\x05\x00\x00")
write("truncated.safetensors", valid[:-5])
write("header_past_end.safetensors", struct.pack("<Q", 1000) + b'{"a":1}')
write("huge_header_length.safetensors", struct.pack("<Q", 1 << 62) + b"{}      ")
write("bad_json.safetensors", header_bytes(b'{"a":{"dtype":"F32","shape":[2],}}') + F32x2)
write("non_utf8_header.safetensors",
      header_bytes(b'{"caf\xe9":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}') + F32x2)
write("unknown_dtype.safetensors", st({"a": t("F7", [2], 0, 8)}, F32x2))
write("overlapping_offsets.safetensors", st({"a": t("F32", [2], 0, 8), "b": t("F32", [2], 4, 12)}, F32x2 + F32x2[:4]))
write("out_of_range_offsets.safetensors", st({"a": t("F32", [2], 0, 8), "b": t("F32", [2], 8, 16)}, F32x2 + F32x2[:4]))
write("gap_in_data.safetensors", st({"a": t("F32", [2], 0, 8), "b": t("F32", [2], 12, 20)}, F32x2 + b"\0" * 4 + F32x2))
write("trailing_bytes.safetensors", st({"a": t("F32", [2], 0, 8)}, F32x2 + b"\0" * 8))
write("shape_size_mismatch.safetensors", st({"a": t("F32", [3], 0, 8)}, F32x2))
write("duplicate_name.safetensors",
      header_bytes(b'{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                   b'"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}') + F32x2 * 2)
write("header_not_object.safetensors", header_bytes(b"[1,2]"))
write("metadata_not_strings.safetensors", st({"__metadata__": {"format": 1}, "a": t("F32", [2], 0, 8)}, F32x2))

# Directories: an index naming a shard that does not exist, and an index entry its shard lacks.
index = lambda wm: (json.dumps({"metadata": {"total_size": 16}, "weight_map": wm}, indent=2, sort_keys=True) + "\n").encode()
one = st({"__metadata__": {"format": "pt"}, "a": t("F32", [2], 0, 8)}, F32x2)
write("index_missing_shard/model-00001-of-00002.safetensors", one)
write("index_missing_shard/model.safetensors.index.json",
      index({"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}))
write("index_missing_tensor/model-00001-of-00001.safetensors", one)
write("index_missing_tensor/model.safetensors.index.json",
      index({"a": "model-00001-of-00001.safetensors", "b": "model-00001-of-00001.safetensors"}))
write("duplicate_across_shards/a.safetensors", one)
write("duplicate_across_shards/b.safetensors", one)
