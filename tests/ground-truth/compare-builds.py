"""Two builds of np2audit on the ground-truth releases, cold: every verdict, judged wheel and
piece of evidence (code, member, strings) must agree; bytes, requests, wall time and peak memory
are printed for each. Used to check that a change to what is read changes no answer.

    python3 tests/ground-truth/compare-builds.py OLD_BINARY NEW_BINARY [--target 2.0.2]

Needs the network (live PyPI); each build gets an empty cache of its own under /tmp.
"""

import argparse
import json
import pathlib
import subprocess
import sys
import time


def audit(binary, specs, target, cache):
    subprocess.run(["rm", "-rf", cache], check=True)
    started = time.time()
    run = subprocess.run(
        ["/usr/bin/time", "-f", "%M", binary, "check", *specs, "--target", target,
         "--python-version", "3.11", "--python-platform", "linux", "--format", "json",
         "--no-fail", "--cache-dir", cache],
        capture_output=True, text=True)
    wall = time.time() - started
    peak_kib = int(run.stderr.strip().splitlines()[-1])
    return json.loads(run.stdout), wall, peak_kib


def answer(package):
    evidence = tuple((e["code"], e.get("member"), tuple(e.get("strings") or []))
                     for e in package["evidence"])
    return package["verdict"], package.get("wheel"), evidence


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--target", default="2.0.2")
    parser.add_argument("--releases", default=str(pathlib.Path(__file__).with_name("releases.txt")))
    args = parser.parse_args()
    specs = [line.split("#")[0].strip() for line in open(args.releases)
             if line.split("#")[0].strip()]
    reports = {}
    for label, binary in (("old", args.old), ("new", args.new)):
        report, wall, peak = audit(binary, specs, args.target, f"/tmp/np2audit-compare-{label}")
        reports[label] = {(p["name"], p["version"]): p for p in report["packages"]}
        stats = report["stats"]
        print(f"{label}: {wall:.1f} s, peak {peak // 1024} MiB, {stats['bytes_fetched']} bytes, "
              f"{stats['requests']} requests")
    differences = 0
    for key, old in reports["old"].items():
        new = reports["new"].get(key)
        if new is None or answer(old) != answer(new):
            differences += 1
            print("DIFFERS", key, answer(old)[0], "->", answer(new)[0] if new else None)
    print(f"{len(reports['old'])} packages, {differences} differences")
    sys.exit(1 if differences else 0)


if __name__ == "__main__":
    main()
