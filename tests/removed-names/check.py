#!/usr/bin/env python3
"""Verify numpy-removed.toml against real NumPy releases.

For every entry and every release line (1.26.4 and the latest patch of each 2.x line on PyPI)
the entry is checked in a *fresh* interpreter of a venv that has that NumPy installed:

  attribute  functools.reduce(getattr, path.split('.')[1:], numpy), importing intermediate
             submodules when a getattr fails; paths directly under numpy.ndarray / numpy.generic
             are looked up on an instance (numpy.zeros(1) / numpy.float64(0)), see the TOML header.
  module     importlib.import_module(path)
  call       function(argument); argument is a dotted numpy path or a Python literal

Warnings (DeprecationWarning etc.) do not count as failure; they are recorded ("P~" in the table).
An entry is CONFIRMED when it is present in 1.26.4 and every line before `removed_in`, and fails in
every line from `removed_in` on. Exit status 1 if any entry is not confirmed.

Usage (from the repository's root; needs network to install the releases from PyPI):

    python3 tests/removed-names/check.py [--python311 PATH] [--python312 PATH] [--jobs 2]
        [--venvs DIR] [--toml src/inspect/numpy-removed.toml] [--py312-everywhere]
        [--json results.json]

Venvs are created under --venvs (default: $TMPDIR/np2audit-removed-venvs) when missing
(python -m venv + pip install numpy==X). 1.26.4-2.4.x run on Python 3.11 (the newest Python
that every one of them supports, and the last one on which numpy.distutils exists) and 2.5.x on
Python 3.12 (2.5 needs >= 3.12). --py312-everywhere runs every release on Python 3.12 instead
(a cross-check: numpy.distutils is then missing everywhere, so that one entry fails).
"""
import argparse
import collections
import concurrent.futures as cf
import json
import os
import subprocess
import sys
import tomllib

import shutil
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TABLE = os.path.join(HERE, "..", "..", "src", "inspect", "numpy-removed.toml")
VENVS = os.path.join(tempfile.gettempdir(), "np2audit-removed-venvs")
# (release line, exact version checked)
RELEASES = [("1.26", "1.26.4"), ("2.0", "2.0.2"), ("2.1", "2.1.3"), ("2.2", "2.2.6"),
            ("2.3", "2.3.5"), ("2.4", "2.4.6"), ("2.5", "2.5.5")]

CHECK_CODE = r'''
import sys, json, warnings, importlib, ast
e = json.loads(sys.argv[1])
def resolve(numpy, path):
    parts = path.split(".")
    parent = ".".join(parts[:-1])
    if parent == "numpy.ndarray":
        return getattr(numpy.zeros(1), parts[-1])
    if parent == "numpy.generic":
        return getattr(numpy.float64(0), parts[-1])
    obj = numpy
    for i, p in enumerate(parts[1:], 1):
        try:
            obj = getattr(obj, p)
        except AttributeError:
            if i < len(parts) - 1:   # intermediate: try importing it as a submodule
                obj = importlib.import_module(".".join(parts[:i + 1]))
            else:
                raise
    return obj
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    import numpy
    n0 = len(w)
    try:
        if e["kind"] == "module":
            importlib.import_module(e["path"])
        elif e["kind"] == "attribute":
            resolve(numpy, e["path"])
        elif e["kind"] == "call":
            f = resolve(numpy, e["function"])
            a = e["argument"]
            arg = resolve(numpy, a) if a.startswith("numpy.") else ast.literal_eval(a)
            f(arg)
        else:
            raise SystemExit("bad kind")
        warned = [f"{x.category.__name__}: {x.message}" for x in w[n0:]]
        print(json.dumps({"ok": True, "warn": warned[:1]}))
    except Exception as ex:
        print(json.dumps({"ok": False, "exc": f"{type(ex).__name__}: {ex}"[:160]}))
'''


def ensure_venv(version, python, name):
    path = os.path.join(VENVS, name)
    if python is None:
        sys.exit(f"no Python for numpy {version}: pass --python311/--python312")
    exe = os.path.join(path, "bin", "python")
    if not os.path.exists(exe):
        subprocess.run([python, "-m", "venv", path], check=True)
        subprocess.run([exe, "-m", "pip", "install", "-q", "--only-binary", ":all:", f"numpy=={version}"],
                       check=True)
    got = subprocess.run([exe, "-c", "import numpy,sys;print(numpy.__version__, sys.version.split()[0])"],
                         capture_output=True, text=True, check=True).stdout.split()
    assert got[0] == version, (version, got)
    return exe, got[1]


def run_one(exe, entry):
    r = subprocess.run([exe, "-c", CHECK_CODE, json.dumps(entry)], capture_output=True, text=True,
                       timeout=120)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except Exception:
        return {"ok": False, "exc": f"checker crashed: rc={r.returncode} {r.stderr[-200:]}"}


def main():
    global VENVS
    ap = argparse.ArgumentParser()
    ap.add_argument("--toml", default=os.path.normpath(TABLE))
    ap.add_argument("--python311", default=shutil.which("python3.11"))
    ap.add_argument("--python312", default=shutil.which("python3.12"))
    ap.add_argument("--venvs", default=None, help=f"default: {VENVS}")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--py312-everywhere", action="store_true")
    ap.add_argument("--json", default=None, help="write raw results here")
    args = ap.parse_args()
    VENVS = args.venvs or VENVS

    entries = tomllib.load(open(args.toml, "rb"))["removed"]
    lines = [l for l, _ in RELEASES]
    exes = {}
    for line, ver in RELEASES:
        if args.py312_everywhere or line == "2.5":
            exes[line] = ensure_venv(ver, args.python312, f"py312-np-{ver}")
        else:
            exes[line] = ensure_venv(ver, args.python311, f"py311-np-{ver}")
    print("NumPy releases checked:")
    for line, ver in RELEASES:
        print(f"  {line:5} numpy {ver:7} python {exes[line][1]:7} {exes[line][0]}")
    print(f"entries: {len(entries)}\n")

    jobs = {}
    with cf.ThreadPoolExecutor(args.jobs) as pool:
        for i, e in enumerate(entries):
            for line in lines:
                jobs[pool.submit(run_one, exes[line][0], e)] = (i, line)
        res = collections.defaultdict(dict)
        for fut in cf.as_completed(jobs):
            i, line = jobs[fut]
            res[i][line] = fut.result()

    bad = []
    counts = collections.Counter()
    hdr = f"{'status':13} {'removed_in':10} {'kind':9} " + " ".join(f"{l:>4}" for l in lines) + "  path"
    print(hdr)
    print("-" * len(hdr))
    for i, e in enumerate(entries):
        ri = e["removed_in"]
        if ri not in lines[1:]:
            ok = False
        else:
            k = lines.index(ri)
            ok = all(res[i][l]["ok"] for l in lines[:k]) and not any(res[i][l]["ok"] for l in lines[k:])
        cells = []
        for l in lines:
            r = res[i][l]
            cells.append(("P~" if r.get("warn") else "P") if r["ok"] else "x")
        label = e["path"] + (f"({e['argument']})" if e["kind"] == "call" else "")
        status = "CONFIRMED" if ok else "NOT-CONFIRMED"
        counts[(ri, status)] += 1
        print(f"{status:13} {ri:10} {e['kind']:9} " + " ".join(f"{c:>4}" for c in cells) + "  " + label)
        if not ok:
            bad.append((label, {l: res[i][l] for l in lines}))

    print("\nlegend: P = present, P~ = present but emitted a warning (e.g. DeprecationWarning), x = fails")
    if bad:
        print("\nNOT CONFIRMED details:")
        for label, r in bad:
            print(" ", label)
            for l, v in r.items():
                print(f"      {l}: {v}")
    if args.json:
        json.dump([{"entry": e, "results": res[i]} for i, e in enumerate(entries)], open(args.json, "w"),
                  indent=1)
    print("\nsummary by removed_in:")
    for ri in lines[1:]:
        c, n = counts[(ri, "CONFIRMED")], counts[(ri, "NOT-CONFIRMED")]
        if c or n:
            print(f"  {ri}: {c} confirmed, {n} not confirmed")
    total_ok = sum(v for (ri, s), v in counts.items() if s == "CONFIRMED")
    print(f"TOTAL: {total_ok}/{len(entries)} confirmed")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
