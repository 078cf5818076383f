#!/usr/bin/env python3
"""Regenerate the offline fixture index and the expected report for the real uv.lock files
under testdata/lockfiles/ from what live PyPI says today.

Run by hand (never in CI), from anywhere, with Python 3.11 and nothing but the standard library:

    python3 testdata/lockfiles/make_index.py                      # every folder with a uv.lock
    python3 testdata/lockfiles/make_index.py ds2023-numpy1 ...    # some folders (name or path)

For each lock folder it

1. builds the release binary (`cargo build --release`; skip with --no-build) and runs
   `np2audit lock <folder>/uv.lock --python-platform linux --format json --cache-dir DIR`
   against live PyPI;
2. rewrites `<folder>/index/` (the TOML descriptions tests/it/support/descriptions.rs reads): one
   `<normalized-name>.toml` per judged package, with one release per judged locked version
   holding the real Requires-Python, upload time and Requires-Dist lines of the judged wheel,
   and one synthetic file with the judged wheel's real name and tag whose fake shared objects
   carry the signature the live scan found; plus `numpy.toml` with the numpy releases that
   decide the default target (the locked ones, and the newest patch of every stable 2.x+
   minor line) so that np2audit picks the same target offline;
3. writes `<folder>/expected.json`: the live report reduced to what tests/it/lockfiles_e2e.rs
   compares (target, summary, project requirements, exit code, and per package its verdict,
   sorted evidence codes and first why-path), plus `known_differences`: packages whose live
   verdict a small synthetic wheel cannot reproduce (today only a scan cut short by the scan
   budget on a multi-hundred-megabyte wheel), each with the verdict the fixture gives instead.

The script is safe to re-run: it deletes and rewrites only `<folder>/index/*.toml` and
`<folder>/expected.json`. Downloaded `.metadata` files are cached under the cache directory.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import html.parser
import io
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LOCKFILES = REPO / "testdata" / "lockfiles"
PYPI_SIMPLE = "https://pypi.org/simple"
DEFAULT_CACHE = Path("/tmp/np2audit-fixture-cache")
# Fake shared objects stay small so that the test suite builds the fixture wheels quickly.
SHARED_OBJECT_SIZE = 4000
USER_AGENT = "np2audit-make-index/1 (+testdata/lockfiles/make_index.py)"
# The real lockfiles this script serves. Other folders under testdata/lockfiles/ (fixture-*)
# hold hand-written locks for the standard fixture index and must not be touched.
REAL_LOCKS = (
    "ds2023-numpy1",
    "modern-numpy2",
    "markers-extras-groups",
    "NWC-CUAHSI-Summer-Institute__NCEP",
)

# Evidence code -> signature of the fake shared object that makes the scanner find it again.
MEMBER_SIGNATURES = {
    "numpy1-build": "numpy1",
    "numpy2-build": "numpy2",
    "runtime-lookup": "runtime-lookup",
    "weak-trace": "weak",
}
# Codes the script knows how to reproduce (or that need nothing from the index).
KNOWN_CODES = set(MEMBER_SIGNATURES) | {
    "numpy-cap",
    "numpy-requirement",
    "unparsable-requirement",
    "import-fails-today",
    "no-numpy-capi",
    "pure-python",
    "closest-wheel",
    "sdist-only",
    "not-on-index",
    "not-from-index",
    "upload-predates-numpy2",
    "no-extension-modules",
    "scan-incomplete",
}
FAILURE_CODES = {"index-error", "offline-miss"}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --------------------------------------------------------------------------------------------
# HTTP


def http_get(url: str, headers: dict[str, str] | None = None, tries: int = 5):
    """(status, headers, body); 404/410 are returned, other failures retried then raised."""
    last: Exception | None = None
    for attempt in range(tries):
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            if error.code in (404, 410):
                return error.code, error.headers, b""
            if error.code < 500 and error.code != 429:
                raise
            last = error
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as error:
            last = error
        time.sleep(min(2**attempt, 20))
    raise RuntimeError(f"GET {url}: {last}")


class RangeFile(io.RawIOBase):
    """A remote file read with HTTP range requests, seekable, for zipfile."""

    def __init__(self, url: str):
        self.url = url
        self.position = 0
        status, headers, _ = http_get(url, {"Range": "bytes=0-0"})
        if status != 206:
            raise RuntimeError(f"{url}: no range support (status {status})")
        self.size = int(headers["Content-Range"].rsplit("/", 1)[1])

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def readinto(self, buffer) -> int:
        if self.position >= self.size or len(buffer) == 0:
            return 0
        end = min(self.size, self.position + len(buffer)) - 1
        status, _, body = http_get(self.url, {"Range": f"bytes={self.position}-{end}"})
        if status != 206:
            raise RuntimeError(f"{self.url}: range read answered {status}")
        buffer[: len(body)] = body
        self.position += len(body)
        return len(body)


# --------------------------------------------------------------------------------------------
# Simple API


@dataclass
class IndexFile:
    filename: str
    url: str
    sha256: str | None
    requires_python: str | None
    upload_time: str | None
    yanked: bool | str


class _AnchorParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._current = dict(attrs)
            self._text = []

    def handle_data(self, data):
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def project_files(name: str) -> list[IndexFile]:
    """Every file PyPI lists for a project (PEP 691 JSON, or PEP 503 HTML when that is served)."""
    page_url = f"{PYPI_SIMPLE}/{normalize(name)}/"
    status, headers, body = http_get(
        page_url, {"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"}
    )
    if status != 200:
        raise RuntimeError(f"{page_url}: status {status}")
    files = []
    if "json" in headers.get("Content-Type", ""):
        for entry in json.loads(body)["files"]:
            files.append(
                IndexFile(
                    filename=entry["filename"],
                    url=urllib.parse.urljoin(page_url, entry["url"]),
                    sha256=entry.get("hashes", {}).get("sha256"),
                    requires_python=entry.get("requires-python") or None,
                    upload_time=entry.get("upload-time"),
                    yanked=entry.get("yanked") or False,
                )
            )
        return files
    parser = _AnchorParser()
    parser.feed(body.decode("utf-8", "replace"))
    for attrs, text in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urllib.parse.urldefrag(urllib.parse.urljoin(page_url, href))
        filename = text or urllib.parse.unquote(url.rsplit("/", 1)[-1])
        sha256 = fragment.split("=", 1)[1] if fragment.startswith("sha256=") else None
        yanked: bool | str = False
        if "data-yanked" in attrs:
            yanked = attrs["data-yanked"] or True
        files.append(
            IndexFile(
                filename=filename,
                url=url,
                sha256=sha256,
                requires_python=attrs.get("data-requires-python") or None,
                upload_time=attrs.get("data-upload-time"),
                yanked=yanked,
            )
        )
    return files


def requires_dist(metadata: bytes) -> list[str]:
    """The `Requires-Dist` values of a core metadata file (headers only, folded lines joined)."""
    text = metadata.decode("utf-8", "replace").replace("\r\n", "\n")
    headers = text.split("\n\n", 1)[0]
    values: list[str] = []
    current: list[str] | None = None
    for line in headers.split("\n"):
        if line[:1] in (" ", "\t") and current is not None:
            current.append(line.strip())
            continue
        if current is not None:
            values.append(" ".join(part for part in current if part))
            current = None
        key, _, value = line.partition(":")
        if key.strip().lower() == "requires-dist":
            current = [value.strip()]
    if current is not None:
        values.append(" ".join(part for part in current if part))
    return values


def wheel_metadata(file: IndexFile, cache_dir: Path) -> bytes:
    """The wheel's METADATA: the PEP 658 `.metadata` file, else a range read of the wheel."""
    cached = cache_dir / "metadata" / f"{file.sha256 or normalize(file.filename)}.METADATA"
    if file.sha256 and cached.is_file():
        return cached.read_bytes()
    status, _, body = http_get(file.url + ".metadata")
    if status != 200:
        with zipfile.ZipFile(io.BufferedReader(RangeFile(file.url), buffer_size=256 * 1024)) as wheel:
            members = [
                name
                for name in wheel.namelist()
                if name.count("/") == 1 and name.endswith(".dist-info/METADATA")
            ]
            if len(members) != 1:
                raise RuntimeError(f"{file.filename}: no single .dist-info/METADATA ({members})")
            body = wheel.read(members[0])
    if file.sha256:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_bytes(body)
    return body


# --------------------------------------------------------------------------------------------
# File names


@dataclass
class WheelName:
    distribution: str
    version: str
    tag: str  # python-abi-platform, compressed, no build tag

    @property
    def pure(self) -> bool:
        _, abi, platform = self.tag.split("-")
        return abi == "none" and platform == "any"


def parse_wheel(filename: str) -> WheelName:
    parts = filename.removesuffix(".whl").split("-")
    if len(parts) not in (5, 6):
        raise ValueError(f"not a wheel file name: {filename}")
    if len(parts) == 6:
        log(f"  note: {filename}: build tag {parts[2]!r} dropped from the fixture file name")
    return WheelName(parts[0], parts[1], "-".join(parts[-3:]))


SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar.xz", ".tar")


def file_version(filename: str, name: str) -> str | None:
    if filename.endswith(".whl"):
        parts = filename.removesuffix(".whl").split("-")
        return parts[1] if len(parts) >= 5 else None
    for suffix in SDIST_SUFFIXES:
        if filename.endswith(suffix):
            stem = filename.removesuffix(suffix)
            if len(stem) > len(name) and normalize(stem[: len(name)]) == normalize(name):
                return stem[len(name) + 1 :]
            return stem.rsplit("-", 1)[-1] if "-" in stem else None
    return None


def canonical_version(version: str) -> str:
    """Good enough for matching a lock's version to a file's: strip `v`, trailing `.0`s, case."""
    version = version.lower().lstrip("v")
    match = re.match(r"^(\d+(?:\.\d+)*)(.*)$", version)
    if not match:
        return version
    release = match.group(1).split(".")
    while len(release) > 1 and release[-1] == "0":
        release.pop()
    return ".".join(str(int(part)) for part in release) + match.group(2)


def shared_object_suffix(tag: str) -> str:
    python, abi, platform = tag.split("-")
    if "win" in platform:
        return ".pyd"
    if abi == "abi3":
        return ".abi3.so"
    match = re.match(r"cp3(\d+)", python.split(".")[0])
    if match and platform != "any":
        arch = "x86_64" if "x86_64" in platform else ("aarch64" if "aarch64" in platform else "x86_64")
        system = "darwin" if "macosx" in platform else f"{arch}-linux-gnu"
        return f".cpython-3{match.group(1)}-{system}.so"
    return ".so"


def is_shared_object(member: str) -> bool:
    """Mirrors `is_shared_object` in src/inspect/wheel.rs."""
    file_name = member.rsplit("/", 1)[-1].lower()
    for extension in (".so", ".pyd", ".dylib"):
        if file_name.endswith(extension) and len(file_name) > len(extension):
            return True
    for match in re.finditer(r"\.so\.", file_name):
        rest = file_name[match.end() :]
        if match.start() > 0 and all(part.isdigit() for part in rest.split(".")):
            return True
    return False


def is_extension_module(member: str) -> bool:
    """An importable module (`.pyd`, or a `.so` with an ABI tag or not named `lib*`) rather than
    a library (`lib*.so`, `*.so.N`, `*.dylib`, `*.dll`); mirrors `shared_object_kind` in
    src/inspect/mod.rs."""
    file_name = member.rsplit("/", 1)[-1].lower()
    if file_name.endswith(".pyd"):
        return True
    if not file_name.endswith(".so"):
        return False
    stem = file_name.removesuffix(".so")
    tag = stem.rsplit(".", 1)[1] if "." in stem else None
    abi_tagged = tag is not None and (tag == "abi3" or tag.startswith("cpython-") or tag.startswith("pypy"))
    return abi_tagged or not stem.startswith("lib")


def wheel_shared_objects(file: IndexFile, cache_dir: Path) -> list[tuple[str, int]] | None:
    """(member, compressed size) of every shared object in the real wheel, from its central
    directory read with range requests; None when the file host does not serve ranges."""
    cached = cache_dir / "members" / f"{file.sha256}.json"
    if file.sha256 and cached.is_file():
        return [tuple(item) for item in json.loads(cached.read_text())]
    try:
        with zipfile.ZipFile(io.BufferedReader(RangeFile(file.url), buffer_size=64 * 1024)) as wheel:
            members = [
                (info.filename, info.compress_size)
                for info in wheel.infolist()
                if is_shared_object(info.filename)
            ]
    except RuntimeError as error:
        log(f"  note: {file.filename}: cannot list its members ({error})")
        return None
    if file.sha256:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps(members))
    return members


# --------------------------------------------------------------------------------------------
# TOML output


def toml_string(text: str) -> str:
    out = ['"']
    for character in text:
        code = ord(character)
        if character == '"':
            out.append('\\"')
        elif character == "\\":
            out.append("\\\\")
        elif character == "\t":
            out.append("\\t")
        elif character == "\n":
            out.append("\\n")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(character)
    out.append('"')
    return "".join(out)


def toml_yanked(yanked: bool | str) -> str:
    return "true" if yanked is True else toml_string(yanked)


@dataclass
class FileOut:
    tag: str
    shared_objects: list[tuple[str, str]]  # (member, signature)
    upload_time: str | None = None


@dataclass
class ReleaseOut:
    version: str
    requires_python: str | None
    upload_time: str | None
    yanked: bool | str
    requires_dist: list[str]
    files: list[FileOut]
    comment: str = ""


def render_project(name: str, releases: list[ReleaseOut], header: str) -> str:
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines.append(f"name = {toml_string(name)}")
    for release in releases:
        lines.append("")
        if release.comment:
            lines.extend(f"# {line}" for line in release.comment.splitlines())
        lines.append("[[release]]")
        lines.append(f"version = {toml_string(release.version)}")
        if release.requires_python:
            lines.append(f"requires-python = {toml_string(release.requires_python)}")
        if release.upload_time:
            lines.append(f"upload-time = {toml_string(release.upload_time)}")
        if release.yanked:
            lines.append(f"yanked = {toml_yanked(release.yanked)}")
        if release.requires_dist:
            lines.append("requires-dist = [")
            lines.extend(f"    {toml_string(requirement)}," for requirement in release.requires_dist)
            lines.append("]")
        for file in release.files:
            lines.append("")
            lines.append("[[release.file]]")
            lines.append(f"tag = {toml_string(file.tag)}")
            if file.upload_time:
                lines.append(f"upload-time = {toml_string(file.upload_time)}")
            if file.shared_objects:
                objects = ", ".join(
                    f"{{ name = {toml_string(member)}, signature = {toml_string(signature)}, size = {SHARED_OBJECT_SIZE} }}"
                    for member, signature in file.shared_objects
                )
                lines.append(f"shared-objects = [{objects}]")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# The audit


def build_release_binary() -> None:
    log("cargo build --release")
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)


def run_audit(binary: Path, lock: Path, cache_dir: Path) -> tuple[dict, int]:
    command = [
        str(binary),
        "lock",
        str(lock),
        "--python-platform",
        "linux",
        "--format",
        "json",
        "--cache-dir",
        str(cache_dir),
    ]
    for attempt in range(2):
        log(f"  running {' '.join(command)}")
        started = time.monotonic()
        result = subprocess.run(command, capture_output=True, text=True)
        log(f"  np2audit exited {result.returncode} after {time.monotonic() - started:.1f} s")
        if result.returncode not in (0, 1, 3):
            raise RuntimeError(f"np2audit failed ({result.returncode}):\n{result.stderr}")
        report = json.loads(result.stdout)
        failures = [
            f"{package['name']} {package['version']}"
            for package in report["packages"]
            if any(evidence["code"] in FAILURE_CODES for evidence in package["evidence"])
        ]
        if not report["incomplete"] and not failures:
            return report, result.returncode
        log(f"  index failures, retrying: {', '.join(failures)}")
    raise RuntimeError(f"live audit of {lock} stays incomplete: {', '.join(failures)}")


def run_check(binary: Path, releases: list[tuple[str, str]], report: dict, cache_dir: Path) -> list[dict]:
    """The report entries of the releases fix advice judged (`np2audit check`, same target and
    environment), so the fixture can serve them too."""
    if not releases:
        return []
    command = [
        str(binary),
        "check",
        *(f"{name}=={version}" for name, version in releases),
        "--target",
        report["target"]["numpy"],
        "--python-version",
        report["target"]["python_version"],
        "--python-platform",
        "linux",
        "--format",
        "json",
        "--cache-dir",
        str(cache_dir),
    ]
    log(f"  running np2audit check on {len(releases)} release(s) fix advice judged")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"np2audit check failed ({result.returncode}):\n{result.stderr}")
    return json.loads(result.stdout)["packages"]


def expected_exit_code(summary: dict, project_requirements: list[dict]) -> int:
    blockers = summary["declared_blocker"] + summary["binary_blocker"] > 0
    return 1 if blockers or any(r["excludes_target"] for r in project_requirements) else 0


def offline_verdict(codes: set[str]) -> str:
    """The verdict audit.rs gives for a set of evidence codes (judge_wheel's rules)."""
    if "numpy-cap" in codes:
        return "declared-blocker"
    if "numpy1-build" in codes:
        return "binary-blocker"
    if codes & {"scan-incomplete", "index-error", "offline-miss", "sdist-only", "not-on-index", "not-from-index"}:
        return "unknown"
    if codes & {"weak-trace", "unparsable-requirement"}:
        return "suspect"
    if codes & {"numpy-requirement", "numpy2-build", "runtime-lookup"}:
        return "ready"
    return "unaffected"


def reduce_package(package: dict) -> dict:
    reduced = {
        "name": package["name"],
        "version": package["version"],
        "verdict": package["verdict"],
        "evidence": sorted({evidence["code"] for evidence in package["evidence"]}),
        "why": package["why"][0] if package["why"] else [],
    }
    fix = package.get("fix")
    if fix:
        reduced["fix"] = {
            "kind": fix["kind"],
            "version": fix["version"],
            "below": fix.get("below"),
            "parents": [[c["package"], c["to"]] for c in fix["requires_parent_upgrades"]],
            "commands": fix["commands"],
        }
    return reduced


def reduce_report(report: dict, exit_code: int) -> dict:
    """Mirrors `reduce` in tests/it/lockfiles_e2e.rs."""
    packages = sorted(
        (reduce_package(package) for package in report["packages"]),
        key=lambda package: (package["name"], package["version"] or ""),
    )
    return {
        "target": {
            "numpy": report["target"]["numpy"],
            "python_version": report["target"]["python_version"],
        },
        "summary": report["summary"],
        "project_requirements": report["project_requirements"],
        "exit_code": exit_code,
        "packages": packages,
        "readiness": {
            "status": report["readiness"]["status"],
            "changes": [[c["package"], c["from"], c["to"]] for c in report["readiness"]["changes"]],
            "commands": report["readiness"]["commands"],
        },
        "pin": report["pin_suggestion"]["requirement"] if report["pin_suggestion"] else None,
    }


# --------------------------------------------------------------------------------------------
# Fixture descriptions


class Maker:
    def __init__(self, cache_dir: Path, workers: int):
        self.cache_dir = cache_dir / "make_index"
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
        self._pages: dict[str, concurrent.futures.Future] = {}

    def page(self, name: str) -> concurrent.futures.Future:
        key = normalize(name)
        if key not in self._pages:
            self._pages[key] = self.pool.submit(project_files, key)
        return self._pages[key]

    def make(self, folder: Path, binary: Path, audit_cache: Path) -> dict:
        log(f"{folder.name}:")
        report, exit_code = run_audit(binary, folder / "uv.lock", audit_cache)
        reduced = reduce_report(report, exit_code)
        if exit_code != expected_exit_code(report["summary"], report["project_requirements"]):
            raise RuntimeError(f"{folder.name}: exit code {exit_code} does not follow from the report")

        unknown_codes = {
            evidence["code"]
            for package in report["packages"]
            for evidence in package["evidence"]
            if evidence["code"] not in KNOWN_CODES
        }
        if unknown_codes:
            log(f"  warning: evidence codes this script does not know: {sorted(unknown_codes)}")

        by_name: dict[str, list[dict]] = collections.defaultdict(list)
        for package in report["packages"]:
            if any(evidence["code"] == "not-from-index" for evidence in package["evidence"]):
                continue  # judged without the index
            by_name[normalize(package["name"])].append(package)
        # The newer releases fix advice judged: served too, so the offline search finds the
        # same boundaries (the page lists only these, and each boundary pair is among them).
        locked = {(normalize(p["name"]), p["version"]) for p in report["packages"]}
        checked = sorted(
            {
                (normalize(c["package"]), c["version"])
                for package in report["packages"]
                if package.get("fix")
                for c in package["fix"]["checked"]
            }
            - locked
        )
        for package in run_check(binary, checked, report, audit_cache):
            by_name[normalize(package["name"])].append(package)
        for name in list(by_name) + ["numpy"]:
            self.page(name)

        outputs: dict[str, str] = {}
        differences: list[dict] = []
        jobs = {
            name: self.pool.submit(self.describe_project, name, packages, folder.name, differences)
            for name, packages in sorted(by_name.items())
        }
        for name, job in jobs.items():
            outputs[name] = job.result()
        outputs["numpy"] = self.describe_numpy(report, folder.name)

        index = folder / "index"
        index.mkdir(exist_ok=True)
        for stale in index.glob("*.toml"):
            stale.unlink()
        for name, text in sorted(outputs.items()):
            (index / f"{name}.toml").write_text(text, encoding="utf-8")

        differences.sort(key=lambda d: (d["name"], d["version"] or ""))
        reduced["known_differences"] = differences
        (folder / "expected.json").write_text(json.dumps(reduced, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        size = sum(path.stat().st_size for path in index.glob("*.toml"))
        log(
            f"  wrote {len(outputs)} descriptions ({size / 1024:.0f} KiB), expected.json "
            f"({(folder / 'expected.json').stat().st_size / 1024:.0f} KiB); target numpy "
            f"{report['target']['numpy']} for Python {report['target']['python_version']}; "
            f"summary {report['summary']}; exit {exit_code}"
        )
        for difference in differences:
            log(
                f"  known difference: {difference['name']} {difference['version']}: live "
                f"{difference['live']['verdict']}, fixture {difference['fixture']['verdict']} ({difference['reason']})"
            )
        return {"folder": folder.name, "differences": differences, "size": size}

    def describe_project(self, name: str, packages: list[dict], lock: str, differences: list) -> str:
        files = self.page(name).result()
        display_name = None
        releases = []
        for package in sorted(packages, key=lambda p: p["version"] or ""):
            release, file_display, difference = self.describe_release(package, files)
            if release is not None:
                releases.append(release)
            display_name = display_name or file_display
            if difference:
                differences.append(difference)
        header = (
            f"Generated by testdata/lockfiles/make_index.py from live PyPI for {lock}/uv.lock:\n"
            "the judged wheel's real name, Requires-Python, upload time and Requires-Dist, and fake\n"
            "shared objects with the signature the live scan found. Regenerate, do not edit."
        )
        return render_project(display_name or packages[0]["name"], releases, header)

    def describe_release(self, package: dict, files: list[IndexFile]):
        """(ReleaseOut or None, display name from the file name or None, known difference or None)."""
        name, version = package["name"], package["version"]
        codes = {evidence["code"] for evidence in package["evidence"]}
        comment = f"live: {package['verdict']} ({', '.join(sorted(codes))})"
        if package["wheel"] is None:
            if "not-on-index" in codes:
                return None, None, None
            if "sdist-only" not in codes:
                raise RuntimeError(f"{name} {version}: no wheel judged and no reason this script knows: {sorted(codes)}")
            sdists = [
                file
                for file in files
                if not file.filename.endswith(".whl")
                and (found := file_version(file.filename, name)) is not None
                and canonical_version(found) == canonical_version(version)
            ]
            if not sdists:
                raise RuntimeError(f"{name} {version}: sdist-only live, but PyPI lists no sdist of it now")
            sdist = sdists[0]
            display = None
            for suffix in SDIST_SUFFIXES:
                if sdist.filename.endswith(suffix):
                    stem = sdist.filename.removesuffix(suffix)
                    prefix = stem[: -(len(file_version(sdist.filename, name)) + 1)]
                    if normalize(prefix) == normalize(name):
                        display = prefix
                    break
            release = ReleaseOut(
                version=file_version(sdist.filename, name),
                requires_python=sdist.requires_python,
                upload_time=sdist.upload_time,
                yanked=sdist.yanked,
                requires_dist=[],
                files=[FileOut(tag="sdist", shared_objects=[])],
                comment=f"{comment}; real file: {sdist.filename}",
            )
            return release, display, None

        wheel = next((file for file in files if file.filename == package["wheel"]), None)
        if wheel is None:
            raise RuntimeError(f"{name} {version}: PyPI no longer lists the judged wheel {package['wheel']}")
        parsed = parse_wheel(wheel.filename)
        metadata = wheel_metadata(wheel, self.cache_dir)

        shared_objects: list[tuple[str, str]] = []
        for evidence in package["evidence"]:
            signature = MEMBER_SIGNATURES.get(evidence["code"])
            if signature and evidence.get("member"):
                shared_objects.append((evidence["member"], signature))
        if "pure-python" not in codes and not parsed.pure:
            # Besides the member the verdict rests on, one shared object without NumPy strings
            # of each kind the real wheel has (extension module, library), so that a scanner
            # that treats the kinds differently sees the same shape. These never change which
            # member decides: the others carry no NumPy strings at all.
            real = wheel_shared_objects(wheel, self.cache_dir)
            if real is None:
                if not shared_objects:
                    module = normalize(name).replace("-", "_")
                    shared_objects.append((f"{module}/_native{shared_object_suffix(parsed.tag)}", "none"))
            else:
                covered = {is_extension_module(member) for member, _ in shared_objects}
                for extension in (True, False):
                    kind = sorted(
                        (size, member) for member, size in real if is_extension_module(member) == extension
                    )
                    if kind and extension not in covered:
                        shared_objects.append((kind[0][1], "none"))
            if not shared_objects and codes & {"no-numpy-capi", "scan-incomplete"}:
                raise RuntimeError(f"{wheel.filename}: judged {sorted(codes)} but has no shared objects now")
        if "pure-python" in codes and shared_objects:
            raise RuntimeError(f"{name} {version}: pure-python with shared-object evidence?")
        if "pure-python" in codes and not parsed.pure:
            log(f"  note: {wheel.filename}: platform wheel without shared objects (pure-python evidence)")

        difference = None
        if "scan-incomplete" in codes:
            # The scan budget (hundreds of MB) ran out before a conclusive shared object; a small
            # synthetic wheel is always scanned in full, so the fixture finds the scanned part only.
            fixture_codes = codes - {"scan-incomplete"}
            if not codes & set(MEMBER_SIGNATURES):
                fixture_codes.add("no-numpy-capi")
            unscanned = [e["message"] for e in package["evidence"] if e["code"] == "scan-incomplete"]
            difference = {
                "name": name,
                "version": version,
                "live": {"verdict": package["verdict"], "evidence": sorted(codes)},
                "fixture": {"verdict": offline_verdict(fixture_codes), "evidence": sorted(fixture_codes)},
                "reason": "live scan stopped at the scan budget (" + "; ".join(unscanned)
                + "); the fixture's small synthetic wheel is scanned in full",
            }
            comment += "; the fixture cannot reproduce the scan budget running out"

        release = ReleaseOut(
            version=parsed.version,
            requires_python=wheel.requires_python,
            upload_time=wheel.upload_time,
            yanked=wheel.yanked,
            requires_dist=requires_dist(metadata),
            files=[FileOut(tag=parsed.tag, shared_objects=shared_objects)],
            comment=f"{comment}; real file: {wheel.filename}",
        )
        return release, parsed.distribution, difference

    def describe_numpy(self, report: dict, lock: str) -> str:
        files = self.page("numpy").result()
        by_version: dict[str, list[IndexFile]] = collections.defaultdict(list)
        for file in files:
            version = file_version(file.filename, "numpy")
            if version:
                by_version[version].append(file)

        def key(version: str) -> tuple[int, ...]:
            return tuple(int(part) for part in version.split("."))

        stable = [
            version
            for version, version_files in by_version.items()
            if re.fullmatch(r"\d+(\.\d+)*", version) and any(not f.yanked for f in version_files)
        ]
        newest_per_minor: dict[tuple[int, int], str] = {}
        for version in stable:
            major_minor = key(version)[:2]
            if major_minor[0] >= 2 and key(version) > key(newest_per_minor.get(major_minor, "0")):
                newest_per_minor[major_minor] = version
        wanted = set(newest_per_minor.values()) | set(report["locked_numpy"]) | {report["target"]["numpy"]}
        missing = sorted(v for v in wanted if v not in by_version)
        if missing:
            raise RuntimeError(f"numpy {missing} not listed on PyPI")

        releases = []
        for version in sorted(wanted, key=key):
            wheels: dict[str, IndexFile] = {}
            for file in sorted(by_version[version], key=lambda f: f.filename):
                if not file.filename.endswith(".whl") or file.yanked:
                    continue
                parsed = parse_wheel(file.filename)
                python, abi, platform = parsed.tag.split("-")
                if re.fullmatch(r"cp3\d+", python) and abi == python and "manylinux" in platform and "x86_64" in platform:
                    wheels.setdefault(python, file)
            signature = "numpy1" if key(version)[0] < 2 else "numpy2"
            core = "core" if signature == "numpy1" else "_core"
            release_files = []
            for python, file in sorted(wheels.items(), key=lambda item: int(item[0][3:])):
                tag = parse_wheel(file.filename).tag
                member = f"numpy/{core}/_multiarray_umath.cpython-{python[2:]}-x86_64-linux-gnu.so"
                release_files.append(FileOut(tag=tag, shared_objects=[(member, signature)], upload_time=file.upload_time))
            if not release_files:
                raise RuntimeError(f"numpy {version}: no CPython manylinux x86_64 wheel")
            requires_python = collections.Counter(
                f.requires_python for f in wheels.values()
            ).most_common(1)[0][0]
            reasons = []
            if version in report["locked_numpy"]:
                reasons.append("locked")
            if version == report["target"]["numpy"]:
                reasons.append("the live target")
            if version in newest_per_minor.values():
                reasons.append("newest patch of its minor line")
            releases.append(
                ReleaseOut(
                    version=version,
                    requires_python=requires_python,
                    upload_time=min(f.upload_time for f in wheels.values() if f.upload_time) if any(f.upload_time for f in wheels.values()) else None,
                    yanked=False,
                    requires_dist=[],
                    files=release_files,
                    comment=", ".join(reasons),
                )
            )
        header = (
            f"Generated by testdata/lockfiles/make_index.py from live PyPI for {lock}/uv.lock:\n"
            "the numpy releases that decide np2audit's default target (newest stable release whose\n"
            "Requires-Python admits the lock's lowest Python), with their real Requires-Python and\n"
            "upload times, one CPython manylinux x86_64 wheel per Python. Regenerate, do not edit."
        )
        return render_project("numpy", releases, header)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "locks", nargs="*", help=f"lock folders (names under testdata/lockfiles/ or paths); default: {', '.join(REAL_LOCKS)}"
    )
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"np2audit's cache (default {DEFAULT_CACHE})")
    parser.add_argument("--binary", type=Path, default=REPO / "target" / "release" / "np2audit")
    parser.add_argument("--no-build", action="store_true", help="do not run cargo build --release first")
    parser.add_argument("--any-folder", action="store_true", help="allow lock folders other than the four real ones")
    parser.add_argument("--workers", type=int, default=16, help="parallel HTTP requests")
    args = parser.parse_args()

    folders = []
    for lock in args.locks or REAL_LOCKS:
        folder = Path(lock) if Path(lock).is_dir() else LOCKFILES / lock
        if not (folder / "uv.lock").is_file():
            parser.error(f"{lock}: no uv.lock there")
        if folder.resolve().name not in REAL_LOCKS and not args.any_folder:
            parser.error(f"{lock}: not one of {', '.join(REAL_LOCKS)}; pass --any-folder to write an index for it anyway")
        folders.append(folder.resolve())

    if not args.no_build:
        build_release_binary()
    if not args.binary.is_file():
        parser.error(f"{args.binary}: no such binary (build it, or drop --no-build)")
    args.cache_dir.mkdir(parents=True, exist_ok=True)

    maker = Maker(args.cache_dir, args.workers)
    results = [maker.make(folder, args.binary, args.cache_dir) for folder in folders]
    total = sum(result["size"] for result in results)
    log(f"done: {len(results)} lock(s), {total / 1024:.0f} KiB of descriptions")
    for result in results:
        for difference in result["differences"]:
            log(f"  {result['folder']}: {difference['name']} {difference['version']} not reproducible offline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
