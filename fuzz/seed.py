#!/usr/bin/env python3
"""Fill fuzz/corpus/<target>/ with seeds: the repo's test data (lockfiles, pyproject.toml,
METADATA) trimmed to a size a fuzzer can mutate quickly, the small hand-written seeds in
fuzz/seeds/, and wheels and shared objects built here (none are committed).

Idempotent: seeds are named by content hash, so re-running adds nothing twice and never removes
what the fuzzers have found.
"""

import hashlib
import io
import pathlib
import sys
import zipfile

FUZZ = pathlib.Path(__file__).resolve().parent
REPO = FUZZ.parent
TESTDATA = REPO / "testdata"
CORPUS = FUZZ / "corpus"
# Large seeds slow every execution; a lock cut at a package boundary is still a valid lock.
LIMIT = 24 * 1024


def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ("seed-" + hashlib.sha1(data).hexdigest()[:16])).write_bytes(data)


def trim(data, boundary=b"\n[["):
    """Cut `data` to at most LIMIT bytes at the last `boundary` (else the last newline)."""
    if len(data) <= LIMIT:
        return data
    head = data[:LIMIT]
    cut = head.rfind(boundary)
    if cut <= 0:
        cut = head.rfind(b"\n")
    return head[: cut + 1] if cut > 0 else head


def files(pattern):
    return sorted(p for p in TESTDATA.glob(pattern) if p.is_file() and "/index/" not in str(p))


def seed_lockfiles():
    by_target = {
        "lock_uv": files("**/uv.lock"),
        "lock_poetry": files("**/poetry.lock"),
        "lock_pdm": files("**/pdm.lock"),
        "lock_pipfile": files("**/Pipfile.lock") + files("**/Pipfile"),
        "lock_pylock": files("**/pylock*.toml"),
        "lock_requirements": [
            p
            for p in files("lockfiles/**/*.txt") + files("lockfiles/**/*.in")
            if "requirements" in p.name or p.parent.name == "requirements-cases"
        ],
        "pyproject": files("**/pyproject.toml"),
    }
    for target, paths in by_target.items():
        for path in paths:
            data = trim(path.read_bytes())
            add(target, data)
            add("lock_detect", data)


def seed_metadata():
    for path in sorted((TESTDATA / "index" / "metadata").glob("*")):
        add("metadata", path.read_bytes())


def seed_committed():
    seeds = FUZZ / "seeds"
    for folder in sorted(seeds.iterdir()) if seeds.is_dir() else []:
        for path in sorted(folder.iterdir()):
            add(folder.name, path.read_bytes())


MARKERS = {
    "numpy1": [
        b"numpy.core._multiarray_umath",
        b"_ARRAY_API",
        b"_ARRAY_API not found",
        b"module compiled against ABI version 0x%x but this version of numpy is 0x%x",
    ],
    "numpy2": [
        b"numpy._core._multiarray_umath",
        b"numpy.core._multiarray_umath",
        b"_ARRAY_API",
        b"module compiled against ABI version 0x%x but this version of numpy is 0x%x",
        b"module was compiled against NumPy C-API version 0x%x (NumPy 1.23) but the running "
        b"NumPy has C-API version 0x%x.",
    ],
    "runtime": [b"numpy.core.multiarray", b"_ARRAY_API"],
    "cython1": [b"numpy.core.multiarray failed to import", b"numpy.core.umath failed to import"],
    "plain": [b"PyInit__ext", b"PyModule_Create2"],
}

HEADERS = {
    "elf": b"\x7fELF\x02\x01\x01\0" + b"\0" * 8,
    "macho": b"\xcf\xfa\xed\xfe\x07\0\0\x01",
    "pe": b"MZ\x90\0\x03\0\0\0" + b"\0" * 52 + b"\x80\0\0\0PE\0\0",
}


def shared_object(header, strings):
    out = bytearray(HEADERS[header])
    for i, string in enumerate(strings):
        out += bytes([0xA5 ^ i]) * 37 + string + b"\0"
    out += b"GCC: (GNU) 10.2.1\0.symtab\0.strtab\0"
    return bytes(out)


METADATA = b"""Metadata-Version: 2.1
Name: ext
Version: 1.0
Requires-Python: >=3.9
Requires-Dist: numpy (<2,>=1.21) ; python_version >= "3.10"
Requires-Dist: numpy>=1.17 ; extra == "test"
Summary: a
  continued line

body
"""


def wheel(members, compression=zipfile.ZIP_DEFLATED, comment=b"", zip64=False):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.comment = comment
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            with archive.open(info, "w", force_zip64=zip64) as member:
                member.write(data)
    return buffer.getvalue()


def seed_binaries():
    for header in HEADERS:
        for kind, strings in MARKERS.items():
            add("shared_object", shared_object(header, strings))
    # A real extension module's first bytes, when the machine has Python.
    dynload = pathlib.Path(sys.base_prefix) / "lib"
    for path in sorted(dynload.glob("python3*/lib-dynload/_json*.so"))[:1]:
        add("shared_object", path.read_bytes()[:LIMIT])

    dist = "ext-1.0.dist-info"
    layouts = [
        [("ext/__init__.py", b"")],
        [("ext/_ext.cpython-311-x86_64-linux-gnu.so", shared_object("elf", MARKERS["numpy1"]))],
        [
            ("ext/_ext.abi3.so", shared_object("elf", MARKERS["numpy2"])),
            ("ext/libhelper.so.1", shared_object("elf", MARKERS["plain"])),
            ("ext/.dylibs/libomp.dylib", shared_object("macho", MARKERS["runtime"])),
        ],
        [("ext/_ext.cp311-win_amd64.pyd", shared_object("pe", MARKERS["cython1"]))],
    ]
    for members in layouts:
        members = members + [(f"{dist}/METADATA", METADATA), (f"{dist}/RECORD", b"")]
        for compression in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            for comment, zip64 in ((b"", False), (b"a comment", False), (b"", True)):
                data = wheel(members, compression, comment, zip64)
                add("zip", data)
                add("wheel", data)
    # An empty archive and a small deflate bomb (300 kB of zeros in a few hundred bytes).
    add("zip", wheel([]))
    add("zip", wheel([("bomb.bin", b"\0" * 300_000)]))


def main():
    CORPUS.mkdir(exist_ok=True)
    seed_lockfiles()
    seed_metadata()
    seed_committed()
    seed_binaries()
    for folder in sorted(CORPUS.iterdir()):
        print(f"{folder.name:18} {sum(1 for _ in folder.iterdir()):5} files")


if __name__ == "__main__":
    main()
