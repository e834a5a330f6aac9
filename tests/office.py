"""LibreOffice and poppler for the document tests: .docx to PDF with a throwaway profile (parallel runs never
share one), page sizes from ``pdfinfo``, text from ``pdftotext``, page 1 as a PNG kept as a test artifact.
Required in CI (``CI=true`` fails instead of skipping when they are missing)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
A4_POINTS = (595.3, 841.9)  # 210 × 297 mm


def office_path() -> str:
    """soffice (LibreOffice) with pdftoppm, pdfinfo and pdftotext; fail in CI, skip elsewhere, when missing."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    tools = [shutil.which(t) for t in ("pdftoppm", "pdfinfo", "pdftotext")]
    if office is None or None in tools:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("LibreOffice (soffice) and poppler-utils are required in CI (see .ci/run)")
        pytest.skip("LibreOffice or poppler-utils not installed")
    return office


def to_pdf(office: str, sources: list[Path], outdir: Path) -> list[Path]:
    """Convert ``sources`` in one LibreOffice run, with its own throwaway user profile."""
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        subprocess.run(
            [
                office,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--norestore",
                "--convert-to",
                "pdf",
                "--outdir",
                str(outdir),
                *map(str, sources),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
    pdfs = [outdir / f"{s.stem}.pdf" for s in sources]
    missing = [p.name for p in pdfs if not p.exists()]
    assert not missing, f"LibreOffice made no PDF of {missing}"
    return pdfs


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Every page's width and height in points."""
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", "999", str(pdf)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return [(float(w), float(h)) for w, h in re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out)]


def pdf_text(pdf: Path, *, first_page: bool = False) -> str:
    pages = ["-f", "1", "-l", "1"] if first_page else []
    return subprocess.run(
        ["pdftotext", *pages, "-layout", str(pdf), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def word_boxes(pdf: Path) -> list[tuple[float, float, float, float, str]]:
    """(xMin, yMin, xMax, yMax, word) of every word of page 1, in points from the top left corner."""
    html = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-bbox", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    found = re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)
    return [(float(a), float(b), float(c), float(d), w) for a, b, c, d, w in found]


def page_one_png(pdf: Path, folder: str, name: str) -> Path:
    """Page 1 of ``pdf`` as ``test-artifacts/<folder>/<name>.png`` (and the PDF beside it)."""
    target = ARTIFACTS / folder
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(pdf, target / f"{name}.pdf")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(target / name)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    image = target / f"{name}.png"
    assert image.read_bytes().startswith(b"\x89PNG")
    return image
