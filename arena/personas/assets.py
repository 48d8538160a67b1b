"""A card's assets (Character Card V3 `assets`: icons, backgrounds, emotions ...): which one is the
portrait, where an embedded one is kept, how each is written back per format, and what an
import kept. Pure: the asset list and the files it names in, values out.

An asset whose file comes with the card (a CHARX entry, a PNG card's own image, a legacy
`chara-ext-asset_` chunk) is kept with the saved persona under an ASCII path and listed as
`embeded://<path>`; the arena shows the main icon as the persona's portrait and keeps the rest
for export. Links (`https:`, `data:`, `ccdefault:`) stay in the list as they were.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# how the spec spells the scheme (one "d"), and what readers accept besides
SCHEME = "embeded://"
_EMBEDDED = ("embeded://", "embedded://", "__asset:")
DEFAULT_ICON = {"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}
# images a page may show inline; anything else is served as a download
IMAGE_MEDIA = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
}
_KINDS = {
    "images": {"png", "jpg", "jpeg", "webp", "gif", "avif", "bmp", "svg"},
    "audio": {"mp3", "wav", "ogg", "flac", "m4a"},
    "video": {"mp4", "webm", "mov"},
    "3d": {"mmd", "obj", "glb", "gltf", "vrm"},
    "ai": {"safetensors", "ckpt", "onnx"},
    "fonts": {"otf", "ttf", "woff", "woff2"},
    "code": {"lua", "js"},
}


def embedded_path(uri: str) -> str | None:
    """The file an embedded asset URI names (`embeded://a/b.png` -> `a/b.png`), else None."""
    low = uri.lower()
    for prefix in _EMBEDDED:
        if low.startswith(prefix):
            return uri[len(prefix) :]
    return None


def ext_of(asset: Mapping[str, Any], path: str = "") -> str:
    ext = str(asset.get("ext") or "").lower().lstrip(".")
    if re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,15}", ext) and ext != "unknown":
        return ext
    tail = path.rsplit("/", 1)[-1]
    return tail.rsplit(".", 1)[-1].lower() if "." in tail else "bin"


def kind_of(ext: str) -> str:
    return next((kind for kind, exts in _KINDS.items() if ext in exts), "other")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]


def safe_path(asset: Mapping[str, Any], ext: str, taken: Iterable[str]) -> str:
    """An ASCII path for an asset, in the layout the spec suggests (assets/{type}/{kind}/), not
    among `taken`."""
    kind = _slug(str(asset.get("type") or "other")) or "other"
    base = _slug(str(asset.get("name") or "")) or "asset"
    used, n = set(taken), 1
    while True:
        path = f"assets/{kind}/{kind_of(ext)}/{base}{'' if n == 1 else f'-{n}'}.{ext}"
        if path not in used:
            return path
        n += 1


def is_safe_path(path: str) -> bool:
    """A path the arena writes as it is: ASCII, relative, `/`-separated, no `.` or `..`."""
    parts = path.split("/")
    return (
        path.isascii()
        and path.isprintable()
        and not path.startswith("/")
        and "\\" not in path
        and all(part not in ("", ".", "..") for part in parts)
    )


def main_icon(assets: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The card's icon: the one named `main`, else the first."""
    icons = [a for a in assets if a.get("type") == "icon"]
    return next((a for a in icons if a.get("name") == "main"), icons[0] if icons else None)


def listed(card: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    value = (card or {}).get("assets")
    return [dict(a) for a in value if isinstance(a, dict)] if isinstance(value, list) else []


def for_export(
    assets: list[dict[str, Any]], files: Mapping[str, bytes], fmt: str
) -> list[dict[str, Any]] | None:
    """The asset list of an exported card. A CHARX carries every kept file; a PNG or JSON card
    cannot carry files, so there the main icon is `ccdefault:` (a PNG's own image) and the other
    embedded assets are left out (the persona page offers the CHARX for them). None: write no
    list (a reader then takes the PNG's image as the icon)."""
    assets = [{**a, "ext": _written_ext(a)} for a in assets]
    if fmt == "charx":
        return assets
    icon = main_icon(assets)
    out = []
    for asset in assets:
        path = embedded_path(str(asset.get("uri", "")))
        if path is None:
            out.append(asset)
        elif asset is icon and path in files:
            out.append({**asset, "uri": "ccdefault:", "name": "main"})
    return out or None


def _written_ext(asset: Mapping[str, Any]) -> str:
    """`ext` as the spec has it: lowercase, no dot, or "unknown"."""
    ext = str(asset.get("ext") or "").lower().lstrip(".")
    return ext if re.fullmatch(r"[a-z0-9][a-z0-9_-]*", ext) else "unknown"


@dataclass(frozen=True)
class AssetInfo:
    """One asset of a saved persona, as an import reports it and the persona page lists it."""

    type: str
    name: str
    ext: str
    uri: str
    bytes: int | None  # the size of a kept file; None for a link
    use: str  # "portrait", "kept for export", "link", "extra file"


def report(card: Mapping[str, Any] | None, files: Mapping[str, bytes]) -> list[AssetInfo]:
    assets = listed(card)
    icon = main_icon(assets)
    named = set()
    found = []
    for asset in assets:
        path = embedded_path(str(asset.get("uri", "")))
        named.add(path)
        use = "link" if path is None else "portrait" if asset is icon else "kept for export"
        size = len(files[path]) if path is not None and path in files else None
        found.append(
            AssetInfo(
                str(asset.get("type", "")), str(asset.get("name", "")),
                str(asset.get("ext", "")), str(asset.get("uri", "")), size, use,
            )
        )  # fmt: skip
    for path, data in files.items():
        if path not in named:
            ext = ext_of({}, path)
            found.append(AssetInfo("file", path, ext, SCHEME + path, len(data), "extra file"))
    return found


def summary(infos: list[AssetInfo]) -> str | None:
    """One line for an import's notes: what was kept and what the arena does not use."""
    if not infos:
        return None
    portrait = [i for i in infos if i.use == "portrait" and i.bytes is not None]
    unused = [f"{i.type} {i.name!r}" for i in infos if i.use in ("kept for export", "extra file")]
    links = [f"{i.type} {i.name!r}" for i in infos if i.use == "link"]
    parts = []
    if portrait:
        parts.append(f"the icon {portrait[0].name!r} is the portrait")
    if unused:
        parts.append(f"kept for export, not used here: {', '.join(unused)}")
    if links:
        parts.append(f"links kept as they are: {', '.join(links)}")
    return "assets: " + "; ".join(parts) if parts else None
