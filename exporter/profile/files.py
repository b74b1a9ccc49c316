"""Reading and writing profile files (the canonical JSON of ``exporter.profile.codec``)."""

from __future__ import annotations

from pathlib import Path

from exporter.atomic import write_atomic
from exporter.profile.codec import decode, encode
from exporter.profile.model import Profile, ProfileError


def load_profile(path: str | Path) -> Profile:
    """Load and validate a profile; raises ProfileError naming the file and the problem."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read profile ({exc.strerror or exc}); build one "
                           "with `mlmon profile build`") from None
    return decode(data, str(path))


def save_profile(profile: Profile, path: str | Path) -> None:
    """Write the canonical JSON (sorted keys, fixed float repr) atomically."""
    write_atomic(Path(path), encode(profile))
