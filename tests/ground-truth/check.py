"""Judge np2audit's verdicts against real imports (opt-in, live PyPI; never run by .ci/run).

For each release in releases.txt: install its wheel alone (`pip install --no-deps
--only-binary=:all: --target`) into a directory put in front of a base environment that has the
target NumPy and the common run-time dependencies, import every extension module in a
subprocess (and every module np2audit says fails at import on a name NumPy removed), and classify
the outcome. Then compare with `np2audit check … --format json`.

    python3.11 -m venv /tmp/gt-base && /tmp/gt-base/bin/pip install numpy scipy pandas \
        scikit-learn numba matplotlib statsmodels astropy pyerfa cftime numexpr blosc2 pillow \
        networkx imageio tifffile lazy_loader patsy requests tqdm cloudpickle typing_extensions \
        attrs click-plugins cligj affine snuggs fsspec cramjam catalogue srsly confection wasabi \
        cymem preshed murmurhash smart_open slicer PyOpenGL py-cpuinfo cffi blis pyyaml
    python3 tests/ground-truth/check.py --python /tmp/gt-base/bin/python \
        --np2audit target/release/np2audit --work /tmp/gt

A module that fails for a reason that is not NumPy's (a missing or newer dependency) leaves its
release unobserved; those are listed for a look by hand rather than counted. A module that fails
on pure-Python use of something NumPy removed must be a `source-blocker`, and a `source-blocker`
must have a module that fails so.
"""
import argparse, json, os, pathlib, re, shutil, subprocess, sys

# Each module's stderr is delimited by a marker rather than captured, so what NumPy printed
# before a crash is still seen.
IMPORT_ALL = r'''
import sys, json, importlib
out = {}
for m in json.loads(sys.argv[1]):
    print("@@module " + m, file=sys.stderr, flush=True)
    try:
        importlib.import_module(m)
        out[m] = ["ok", ""]
    except BaseException as e:
        out[m] = ["fail", (type(e).__name__ + ": " + str(e))[:400]]
print("@@" + json.dumps(out))
'''

SUFFIX = re.compile(r"(\.cpython-\d+[^.]*|\.abi3|)\.so$")
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# What NumPy 2 (or a 1.x-built module under it) says when a binary does not fit.
NUMPY_BINARY = re.compile(r"numpy\.core\.multiarray failed to import|compiled against ABI version|"
                          r"_ARRAY_API not found|dtype size changed|compiled using NumPy 1\.x", re.I)
# Pure-Python use of what NumPy 2 removed: no byte string shows it (README: what ready does not
# cover).
NUMPY_PYTHON = re.compile(r"module 'numpy[\w.]*' has no attribute|was removed in the NumPy 2|"
                          r"to a dtype not allowed|cannot import name '\w+' from 'numpy|"
                          r"No module named 'numpy\.", re.I)


def stderr_by_module(stderr):
    by_module, current = {}, None
    for line in stderr.splitlines():
        if line.startswith("@@module "):
            current = line[len("@@module "):]
            by_module[current] = ""
        elif current:
            by_module[current] += line + " | "
    return by_module


def extension_modules(target: pathlib.Path):
    mods = []
    for so in target.rglob("*.so"):
        parts = so.relative_to(target).parts
        if any(p.endswith((".libs", ".data", ".dist-info")) for p in parts):
            continue
        if so.name.startswith("lib") and not SUFFIX.search(so.name).group(1):
            continue  # a plain library, not importable
        name = SUFFIX.sub("", so.name)
        if all(IDENT.fullmatch(p) for p in list(parts[:-1]) + [name]):
            mods.append(".".join(list(parts[:-1]) + [name]))
    return sorted(mods)


def flagged_modules(package):
    """The modules np2audit says fail when imported, from `removed-name` evidence."""
    mods = []
    for e in package["evidence"]:
        if e["code"] != "removed-name" or "fails when the module is imported" not in e["message"]:
            continue
        path = e.get("member", "").rsplit(":", 1)[0]
        if not path.endswith(".py"):
            continue
        parts = path[:-3].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and all(IDENT.fullmatch(p) for p in parts):
            mods.append(".".join(parts))
    return mods


def observe(python, work, spec, also=()):
    target = work / spec.replace("==", "-")
    if not target.exists():
        # Installed beside, then renamed: an interrupted install is never taken for a whole one.
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        r = subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps",
                            "--only-binary=:all:", "--target", str(partial), spec],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return "no-wheel", (r.stderr.strip().splitlines() or ["pip failed"])[-1]
        partial.rename(target)
    mods = sorted(set(extension_modules(target)) | set(also))
    if not mods:
        return "ok", "no extension modules"
    try:
        r = subprocess.run([python, "-X", "faulthandler", "-c", IMPORT_ALL, json.dumps(mods)],
                           capture_output=True, text=True, timeout=300, cwd="/tmp",
                           env=dict(os.environ, PYTHONPATH=str(target)))
    except subprocess.TimeoutExpired:
        return "unobserved", "import timed out"
    printed = stderr_by_module(r.stderr)
    lines = [l for l in r.stdout.splitlines() if l.startswith("@@")]
    if not lines:
        last = list(printed)[-1] if printed else "?"
        if NUMPY_BINARY.search(printed.get(last, "")):
            return "numpy-fail", f"{last} crashed after NumPy's 1.x warning"
        return "unobserved", f"{last} crashed (rc={r.returncode})"
    results = {m: (state, error + " | " + printed.get(m, ""))
               for m, (state, error) in json.loads(lines[0][2:]).items()}
    # A module that prints NumPy's 1.x warning but swallows the error (pybind11) is broken at use.
    numpy = {m: e for m, (s, e) in results.items() if NUMPY_BINARY.search(e)}
    python = {m: e for m, (s, e) in results.items() if s == "fail" and NUMPY_PYTHON.search(e)}
    other = {m: e for m, (s, e) in results.items()
             if s == "fail" and m not in numpy and m not in python}
    for seen, failed in (("numpy-fail", numpy), ("numpy-python-fail", python),
                         ("unobserved", other)):
        if failed:
            m, e = next(iter(failed.items()))
            return seen, f"{len(failed)}/{len(results)}, e.g. {m}: {e[:160]}"
    return "ok", f"{len(results)} modules import"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", required=True, help="base environment with the target NumPy")
    ap.add_argument("--np2audit", required=True)
    ap.add_argument("--work", default="/tmp/np2audit-ground-truth")
    ap.add_argument("--releases", default=str(pathlib.Path(__file__).with_name("releases.txt")))
    args = ap.parse_args()
    work = pathlib.Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    specs = [l.split("#")[0].strip() for l in open(args.releases) if l.split("#")[0].strip()]
    numpy = subprocess.run([args.python, "-c", "import numpy, sys; print(numpy.__version__, "
                            "'%d.%d' % sys.version_info[:2])"], capture_output=True, text=True,
                           check=True).stdout.split()
    report = json.loads(subprocess.run(
        [args.np2audit, "check", *specs, "--target", numpy[0], "--python-version", numpy[1],
         "--python-platform", "linux", "--format", "json", "--no-fail",
         "--cache-dir", str(work / "cache")], capture_output=True, text=True, check=True).stdout)
    verdicts = {(p["name"], p["version"]): p for p in report["packages"]}
    tally = {}
    for spec in specs:
        name, version = spec.split("==")
        p = verdicts[(re.sub(r"[-_.]+", "-", name).lower(), version)]
        seen, detail = observe(args.python, work, spec, flagged_modules(p))
        codes = {e["code"] for e in p["evidence"]}
        source = p["verdict"] == "source-blocker"
        if seen == "numpy-python-fail":
            # The source claim: a module fails on what NumPy removed exactly where one is named.
            outcome = "agree" if source else "DISAGREE"
        elif seen in ("numpy-fail", "ok"):
            # The binary claim: a 1.x build found exactly where imports fail on NumPy.
            binary = ("numpy1-build" in codes) == (seen == "numpy-fail")
            outcome = "agree" if binary and not (source and seen == "ok") else "DISAGREE"
        else:
            outcome = "unobserved"
        tally[outcome] = tally.get(outcome, 0) + 1
        detail = " ".join(str(detail).split())
        print(f"{outcome:10} {spec:36} np2audit={p['verdict']:16} imports={seen}: {detail[:200]}")
    print(json.dumps(tally))
    sys.exit(1 if tally.get("DISAGREE") else 0)


if __name__ == "__main__":
    main()
