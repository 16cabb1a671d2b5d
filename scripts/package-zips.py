#!/usr/bin/env python3
"""After `sam build`: checks that every function of infra/template.yaml was built into an aarch64 ELF
`bootstrap` that is newer than the build's start, and zips each into dist/<crate>.zip (bootstrap at the
root, mode 0755), the deployment package Lambda takes. Run by scripts/package.sh."""

import importlib.util
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("check_infra", ROOT / "scripts/check-infra.py")
check_infra = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_infra)

EM_AARCH64 = 183
FRESH_SECONDS = 6 * 3600  # a binary older than this was not built by this run


def main():
    template = check_infra.load_inputs()[0]
    build = ROOT / "infra/.aws-sam/build"
    dist = ROOT / "dist"
    dist.mkdir(exist_ok=True)
    problems, made = [], []
    for lid, res in template["Resources"].items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        crate = res["Metadata"]["BuildProperties"]["Binary"]
        binary = build / lid / "bootstrap"
        if not binary.is_file():
            problems.append(f"{lid}: {binary.relative_to(ROOT)} is missing")
            continue
        head = binary.read_bytes()[:20]
        if head[:4] != b"\x7fELF" or int.from_bytes(head[18:20], "little") != EM_AARCH64:
            problems.append(f"{lid}: {binary.relative_to(ROOT)} is not an aarch64 ELF executable")
            continue
        if time.time() - binary.stat().st_mtime > FRESH_SECONDS:
            problems.append(f"{lid}: {binary.relative_to(ROOT)} is stale (not built by this run)")
            continue
        target = dist / f"{crate}.zip"
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
            info = zipfile.ZipInfo("bootstrap", date_time=time.localtime()[:6])
            info.external_attr = (0o100755 << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, binary.read_bytes())
        made.append(f"dist/{target.name} ({binary.stat().st_size // 1024} KiB bootstrap, {target.stat().st_size // 1024} KiB zip)")
    for p in problems:
        print(f"package: {p}", file=sys.stderr)
    if problems or not made:
        print("package: FAILED", file=sys.stderr)
        return 1
    for m in made:
        print(f"package: {m}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
