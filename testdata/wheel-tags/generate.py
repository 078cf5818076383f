"""Golden wheel-tag lists: what `packaging.tags.sys_tags()` gives CPython on each target.

np2audit ranks a release's wheels by these lists (`src/environment.rs`), and its test compares
its own lists with these files tag by tag. packaging computes platforms from the machine it
runs on, so the machine's glibc, musl and macOS versions are set here to np2audit's defaults
for each target (glibc 2.28, musl 1.2, macOS 13.0, as uv's).

    python3 -m pip install packaging==26.4
    python3 testdata/wheel-tags/generate.py

Each file is named `cp3XY-<platform>.txt` (a platform name np2audit accepts) and lists one tag
per line, best first.
"""

import pathlib

import packaging
import packaging._manylinux as manylinux
import packaging._musllinux as musllinux
import packaging.tags as tags

TARGETS = [
    ((3, 11), "x86_64-unknown-linux-gnu", ("glibc", "x86_64", (2, 28))),
    ((3, 12), "aarch64-unknown-linux-gnu", ("glibc", "aarch64", (2, 28))),
    ((3, 10), "x86_64-manylinux_2_17", ("glibc", "x86_64", (2, 17))),
    ((3, 13), "x86_64-unknown-linux-musl", ("musl", "x86_64", (1, 2))),
    ((3, 12), "aarch64-apple-darwin", ("macos", "arm64", (13, 0))),
    ((3, 11), "x86_64-apple-darwin", ("macos", "x86_64", (13, 0))),
    ((3, 13), "x86_64-pc-windows-msvc", ("windows", "win_amd64", None)),
    ((3, 9), "i686-pc-windows-msvc", ("windows", "win32", None)),
]


def platforms(kind, arch, version):
    if kind == "glibc":
        manylinux._get_glibc_version = lambda: version
        manylinux._have_compatible_abi = lambda *args: True
        manylinux._get_manylinux_module = lambda: None
        return [f"linux_{arch}", *manylinux.platform_tags([arch])]
    if kind == "musl":
        musllinux._get_musl_version = lambda executable: musllinux._MuslVersion(*version)
        return [f"linux_{arch}", *musllinux.platform_tags([arch])]
    if kind == "macos":
        return list(tags.mac_platforms(version, arch))
    return [arch]


def main():
    here = pathlib.Path(__file__).parent
    for python, name, (kind, arch, version) in TARGETS:
        interpreter = f"cp{python[0]}{python[1]}"
        supported = platforms(kind, arch, version)
        found = [
            *tags.cpython_tags(python, [interpreter], supported),
            *tags.compatible_tags(python, interpreter, supported),
        ]
        lines = [f"# packaging {packaging.__version__}: sys_tags() for CPython {python[0]}.{python[1]} on {name}"]
        lines += [str(tag) for tag in found]
        (here / f"{interpreter}-{name}.txt").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
