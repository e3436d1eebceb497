"""SHA-256 of files (checkpoints, assets) and of folders (generated and recorded datasets)."""

from __future__ import annotations

import hashlib
from pathlib import Path

FULL_DIGEST_BYTES = 256 << 20  # folders up to this size are hashed by content; larger ones by names and sizes


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def tree_digest(files: dict[str, str]) -> str:
    """One sha256 over sorted (relative path, file sha256) pairs."""
    return hashlib.sha256("".join(f"{p}\0{h}\n" for p, h in sorted(files.items())).encode()).hexdigest()


def folder_fingerprint(root: str | Path, max_bytes: int = FULL_DIGEST_BYTES) -> str:
    """``sha256:<16 hex>`` of every file under ``root`` (or of ``root``, a file), by content while they
    total at most ``max_bytes``, else ``names+sizes:<16 hex>`` of their relative paths and sizes (a large
    recorded dataset is not read again by every run; such a digest misses changes that keep the sizes).
    Hidden files (``.complete`` markers) are left out. A missing ``root`` raises FileNotFoundError."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no dataset at {root}")
    if root.is_file():
        files, root = [root], root.parent
    else:
        files = sorted(p for p in root.rglob("*") if p.is_file()
                       and not any(part.startswith(".") for part in p.relative_to(root).parts))
    sizes = {p.relative_to(root).as_posix(): p.stat().st_size for p in files}
    if sum(sizes.values()) > max_bytes:
        return f"names+sizes:{tree_digest({name: str(size) for name, size in sizes.items()})[:16]}"
    return f"sha256:{tree_digest({p.relative_to(root).as_posix(): file_sha256(p) for p in files})[:16]}"
