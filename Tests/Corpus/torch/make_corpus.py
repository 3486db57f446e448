"""Regenerates the malformed torch.save corpus (Python standard library only; no torch).

Run from this directory: python3 make_corpus.py <path to shared/fixtures/torch/views.pt>
Each file exercises one failure; TorchCorpusTests asserts the error message fragment.
"""
import struct, sys, zipfile, io

views = open(sys.argv[1], 'rb').read()

def stored_zip(path, entries, compress=None):
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name), data, compress_type=(compress.get(name) if compress else None) or zipfile.ZIP_STORED)

def bu(s):  # BINUNICODE
    b = s.encode(); return b'X' + struct.pack('<I', len(b)) + b

def tensor_pickle(numel, size):
    return (b'\x80\x02}' + bu('w') + b'ctorch._utils\n_rebuild_tensor_v2\n((' + bu('storage') + b'ctorch\nFloatStorage\n'
            + bu('0') + bu('cpu') + b'K' + bytes([numel]) + b'tQK\x00K' + bytes([size]) + b'\x85K\x01\x85\x89'
            + b'ccollections\nOrderedDict\n)RtRs.')

# 1. truncated: the second half (with the central directory) is gone.
open('truncated_zip.pt', 'wb').write(views[:len(views) // 2])
# 2. central directory offset moved by 7 bytes (in both the zip64 and the classic end records).
b = bytearray(views)
eocd = b.rfind(b'PK\x05\x06'); z64 = b.rfind(b'PK\x06\x06')
cd = struct.unpack_from('<I', b, eocd + 16)[0]
struct.pack_into('<I', b, eocd + 16, cd + 7); struct.pack_into('<Q', b, z64 + 48, cd + 7)
open('bad_central_directory_offset.pt', 'wb').write(bytes(b))
# 3. data.pkl deflated.
src = zipfile.ZipFile(io.BytesIO(views))
entries = [(i.filename, src.read(i)) for i in src.infolist()]
stored_zip('compressed_entry.pt', entries, compress={'views/data.pkl': zipfile.ZIP_DEFLATED})
# 4. unknown opcode 0xff after PROTO 2.
stored_zip('unknown_opcode.pt', [('archive/data.pkl', b'\x80\x02N\xff.')])
# 5. 5000 nested lists.
stored_zip('deeply_nested.pt', [('archive/data.pkl', b'\x80\x02' + b']' * 5000 + b'a' * 4999 + b'.')])
# 6. a string declaring 4 GiB with 3 bytes left.
stored_zip('huge_declared_length.pt', [('archive/data.pkl', b'\x80\x02X\xf0\xff\xff\xffabc')])
# 7. GET of a memo key never PUT.
stored_zip('memo_get_missing.pt', [('archive/data.pkl', b'\x80\x02h\x05.')])
# 8. a list that contains itself.
stored_zip('recursive_structure.pt', [('archive/data.pkl', b'\x80\x02]q\x00h\x00a.')])
# 9. views.pt without its data/0 storage.
stored_zip('missing_storage.pt', [e for e in entries if e[0] != 'views/data/0'])
# 10. a 100-element tensor on a 24-element storage.
stored_zip('storage_too_small.pt', [('archive/data.pkl', tensor_pickle(24, 100)), ('archive/data/0', bytes(96))])
# 11. a storage entry shorter than its declared element count.
stored_zip('storage_entry_short.pt', [('archive/data.pkl', tensor_pickle(24, 24)), ('archive/data/0', bytes(40))])
# 12. not a zip at all.
open('not_a_zip.pt', 'wb').write(b'this is a text file, not a checkpoint\n' * 3)
# 13. one byte of a storage flipped: the CRC no longer matches.
b = bytearray(views); off = views.find(b'views/data/0') + len('views/data/0')
info = [i for i in src.infolist() if i.filename == 'views/data/0'][0]
lh = info.header_offset; n, e = struct.unpack_from('<HH', b, lh + 26); b[lh + 30 + n + e + 5] ^= 0xFF
open('crc_mismatch.pt', 'wb').write(bytes(b))
# 14. a central directory entry claiming a size far past the end of the file.
b = bytearray(views); cd = struct.unpack_from('<Q', views, views.rfind(b'PK\x06\x06') + 48)[0]
p = cd
for _ in range(4):  # skip to the 5th entry (views/data/0)
    n, e, c = struct.unpack_from('<HHH', b, p + 28); p += 46 + n + e + c
struct.pack_into('<I', b, p + 20, 0x7FFFFFF0); struct.pack_into('<I', b, p + 24, 0x7FFFFFF0)
open('entry_past_end.pt', 'wb').write(bytes(b))
