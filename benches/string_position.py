"""Where NumPy's C-API strings lie in real NumPy 2.x-built extension modules, against the end of
their read-only segments: what the fleet bench's synthetic objects copy
(`tests/it/support/wheel_builder.rs`, `shared_object_bytes`). Prints one line per object that
names NumPy's import module, then deciles.

    pip download --no-deps --only-binary :all: --python-version 3.11 \\
        --platform manylinux_2_17_x86_64 pandas==2.2.3 scipy==1.14.1 ... -d wheels
    python3 benches/string_position.py wheels/*.whl
"""
import statistics
import struct
import sys
import zipfile

IMPORT2 = b"numpy._core._multiarray_umath"
C_API = b"module was compiled against NumPy C-API version 0x"


def read_only_end(data):
    """End of the last loadable segment without the write flag (ELF64, little-endian)."""
    phoff = struct.unpack_from("<Q", data, 0x20)[0]
    phentsize, phnum = struct.unpack_from("<HH", data, 0x36)
    end = 0
    for index in range(phnum):
        p_type, p_flags, p_offset, _, _, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + index * phentsize
        )
        if p_type == 1 and not p_flags & 2:
            end = max(end, p_offset + p_filesz)
    return end


of_read_only = []
for wheel in sys.argv[1:]:
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            if not (info.filename.endswith(".so") or ".so." in info.filename):
                continue
            data = archive.read(info)
            if data[:4] != b"\x7fELF" or data[4] != 2:
                continue
            last = max(data.find(IMPORT2), data.find(C_API))
            if last < 0:
                continue
            end = read_only_end(data)
            of_read_only.append(last / end)
            print(f"{info.filename}: size {len(data)}, read-only end {end / len(data):.2f} "
                  f"of it, strings at {last / end:.2f} of the read-only end")
if len(of_read_only) >= 2:
    deciles = statistics.quantiles(of_read_only, n=10)
    print(f"{len(of_read_only)} objects; strings / read-only end, deciles:",
          " ".join(f"{q:.2f}" for q in deciles))
