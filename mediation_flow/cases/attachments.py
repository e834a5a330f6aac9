"""Attachments of a case (photos of the signed agreement, evidence, ID copies), stored as files beside the
database — ``<data_dir>/attachments/<case id>/<uuid>.<ext>`` with a ``.json`` of its metadata — so a backup
of the data directory carries them. The type is judged from the file's first bytes, never from the name
or the browser's claim, and the name's extension must agree with it; the name is cleaned and ends in that
extension; files are created 0600 in folders 0700; size and count are limited. Callers check that the user
may see the case first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

from mediation_flow.display.labels import labels
from mediation_flow.errors import InvalidData, NotFound
from mediation_flow.store import clock
from mediation_flow.textinput import scrub

MAX_BYTES = 10 * 1024 * 1024
MAX_PER_CASE = 50
CHUNK = 64 * 1024
KINDS = labels("attachment_kinds")
# (magic prefix, extension, media type): JPEG and PNG photos, PDF scans.
SIGNATURES = [
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"%PDF-", "pdf", "application/pdf"),
]
_ID = re.compile(r"^[0-9a-f]{32}$")
EXTENSIONS = {"jpg": ("jpg", "jpeg"), "png": ("png",), "pdf": ("pdf",)}
_UNSAFE_NAME = re.compile(r'[<>:"|?*/]')
STALE_PART = 3600  # seconds: a .part file this old was left by a crash (an upload takes seconds)


@dataclass(frozen=True)
class Attachment:
    id: str
    case_id: int
    kind: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: int | None
    uploaded_at: str

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


def folder(data_dir: Path, case_id: int) -> Path:
    return Path(data_dir) / "attachments" / str(int(case_id))


def clean_name(name: str, ext: str) -> str:
    """The name a file is kept and offered under: no folders, no control or direction characters (a
    right-to-left override would show ``协议\u202egpj.exe`` as ``协议exe.jpg``), none of ``<>:"/\\|?*``,
    and ending in the extension of the type its content was judged to be."""
    base = os.path.basename(scrub(name, multiline=False).replace("\\", "/"))
    base = _UNSAFE_NAME.sub("", base).strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return f"{stem[:100].strip() or '附件'}.{ext}"


def extension_matches(filename: str, ext: str) -> bool:
    """The name's extension agrees with the type the content was judged to be (``.jpeg`` for a JPEG too)."""
    given = filename.rsplit(".", 1)[-1].strip().lower() if "." in filename else ""
    return given in EXTENSIONS[ext]


def sniff(head: bytes) -> tuple[str, str] | None:
    """(extension, media type) from the first bytes, or None for a type we do not keep."""
    return next(((ext, media) for magic, ext, media in SIGNATURES if head.startswith(magic)), None)


def save(
    data_dir: Path,
    case_id: int,
    stream: BinaryIO,
    *,
    filename: str,
    kind: str,
    uploaded_by: int | None,
) -> Attachment:
    """Store one upload; InvalidData (Chinese message) for a wrong kind, type, size or too many files."""
    if kind not in KINDS:
        raise InvalidData([{"field": "kind", "message": "请选择附件类别"}])
    target = folder(data_dir, case_id)
    if len(list(target.glob("*.json"))) >= MAX_PER_CASE:
        raise InvalidData([{"field": "file", "message": f"每件案件最多上传{MAX_PER_CASE}个附件"}])
    head = stream.read(16)
    found = sniff(head)
    if not head:
        raise InvalidData([{"field": "file", "message": "请选择要上传的文件"}])
    if found is None:
        raise InvalidData([{"field": "file", "message": "只能上传 JPG、PNG 照片或 PDF 文件"}])
    ext, media = found
    if not extension_matches(filename, ext):
        names = "、".join(f".{e}" for e in EXTENSIONS[ext])
        raise InvalidData([{"field": "file", "message": f"文件内容是{ext.upper()}，文件名应以{names}结尾"}])
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    target.parent.chmod(0o700)
    attachment_id = uuid.uuid4().hex
    partial = target / f"{attachment_id}.{ext}.part"
    digest, size = hashlib.sha256(head), len(head)
    try:
        with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            out.write(head)
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise InvalidData([{"field": "file", "message": f"文件不能超过{MAX_BYTES // 1024 // 1024}MB"}])
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(target / f"{attachment_id}.{ext}")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    item = Attachment(
        attachment_id,
        int(case_id),
        kind,
        clean_name(filename, ext),
        media,
        size,
        digest.hexdigest(),
        uploaded_by,
        clock.utcnow().isoformat(timespec="seconds"),
    )
    meta = target / f"{attachment_id}.json"
    with os.fdopen(os.open(meta, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
        out.write(json.dumps(asdict(item), ensure_ascii=False))
    return item


def clean_partials(data_dir: Path, *, now: float | None = None) -> int:
    """Remove ``.part`` files an interrupted upload left behind (older than ``STALE_PART``, so an upload
    another worker is writing right now is kept); returns how many. Run at start."""
    now = time.time() if now is None else now
    removed = 0
    for part in (Path(data_dir) / "attachments").glob("*/*.part"):
        with contextlib.suppress(FileNotFoundError):
            if now - part.stat().st_mtime > STALE_PART:
                part.unlink()
                removed += 1
    return removed


def list_for_case(data_dir: Path, case_id: int) -> list[Attachment]:
    items = []
    for meta in folder(data_dir, case_id).glob("*.json"):
        try:
            items.append(Attachment(**json.loads(meta.read_text(encoding="utf-8"))))
        except (ValueError, TypeError):
            continue  # a damaged sidecar hides its file rather than breaking the page
    return sorted(items, key=lambda a: a.uploaded_at)


def get(data_dir: Path, case_id: int, attachment_id: str) -> tuple[Attachment, Path]:
    """The attachment and its file path; NotFound for an unknown id (ids are 32 hex digits, no paths)."""
    if not _ID.match(attachment_id):
        raise NotFound("附件不存在")
    meta = folder(data_dir, case_id) / f"{attachment_id}.json"
    if not meta.exists():
        raise NotFound("附件不存在")
    item = Attachment(**json.loads(meta.read_text(encoding="utf-8")))
    ext = next(e for _, e, m in SIGNATURES if m == item.media_type)
    path = folder(data_dir, case_id) / f"{attachment_id}.{ext}"
    if not path.exists():
        raise NotFound("附件文件缺失")
    return item, path
