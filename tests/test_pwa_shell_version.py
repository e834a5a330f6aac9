"""The service worker serves its kept assets from the cache first, so a phone keeps an old app.css or draft.js until
the cache's name (``SHELL`` in sw.js) changes. Their contents are recorded here with the name they were shipped
under: a changed asset under the same name fails, and says what to do."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "web" / "static"
RECORD = Path(__file__).resolve().parent / "fixtures" / "shell_assets.json"


def shipped() -> tuple[str, dict[str, str]]:
    """sw.js's cache name and the sha256 of each kept static asset."""
    worker = (STATIC / "sw.js").read_text("utf-8")
    name = re.search(r'var SHELL = "([^"]+)"', worker)
    assert name is not None
    assets = re.findall(r'"/static/([^"]+)"', worker.split("var ASSETS", 1)[1].split("];", 1)[0])
    return name.group(1), {a: hashlib.sha256((STATIC / a).read_bytes()).hexdigest() for a in sorted(assets)}


def test_a_changed_kept_asset_comes_with_a_new_cache_name() -> None:
    name, hashes = shipped()
    recorded = json.loads(RECORD.read_text("utf-8"))
    changed = sorted(a for a in hashes if recorded["assets"].get(a) != hashes[a])
    if name == recorded["shell"]:
        assert not changed, (
            f"{changed} changed but sw.js still names its cache {name}: phones would keep the old files. "
            f"Rename SHELL in web/static/sw.js, then record the new contents: python tests/{Path(__file__).name}"
        )
    else:
        assert changed, f"sw.js renamed its cache to {name} but no kept asset changed; record it (see above)"


if __name__ == "__main__":  # record what is shipped now
    name, hashes = shipped()
    RECORD.write_text(json.dumps({"shell": name, "assets": hashes}, indent=2) + "\n", "utf-8")
    print(f"recorded {len(hashes)} assets under {name}")
