"""What a variant is: the spec grammar, its normal form, limits, presets and signatures.

Pure. A spec is one path segment:

    <mode>-<w>x<h>[-<gravity>][-q<quality>][-t<seconds>][-wm].<format>

- mode `fit` (inside w x h, aspect kept), `fill` (cover w x h, then cut to it
  at the gravity) or `crop` (cut w x h at the source's own scale);
- gravity `center` (default; `centre` is read as `center`) or `smart` (the
  window with the most detail); meaningless for `fit`, so dropped there;
- quality 1..100, per format by default (JPEG 82, WebP 80, AVIF 60); PNG is
  lossless, so none;
- `t`: the poster time of a video, in seconds (three decimals at most);
- `wm`: the configured watermark;
- format `jpeg` (`jpg`), `png`, `webp` or `avif`.

Nothing is ever enlarged. Two spellings of one variant have one normal form
(`normalized`), which keys the stored object and is what signatures sign.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

from mediaplane.domain import DomainError

Mode = Literal["fit", "fill", "crop"]
Gravity = Literal["center", "smart"]
Format = Literal["jpeg", "png", "webp", "avif"]

MAX_SIDE = 8192  # either side of an output, whatever the pixel cap
MAX_SECONDS = 24 * 3600
DEFAULT_QUALITY: Mapping[Format, int | None] = {"jpeg": 82, "webp": 80, "avif": 60, "png": None}
_FORMATS: Mapping[str, Format] = {
    "jpeg": "jpeg",
    "jpg": "jpeg",
    "png": "png",
    "webp": "webp",
    "avif": "avif",
}
_GRAVITIES: Mapping[str, Gravity] = {"center": "center", "centre": "center", "smart": "smart"}
_SPEC = re.compile(
    r"(?P<mode>fit|fill|crop)-(?P<w>\d{1,5})x(?P<h>\d{1,5})"
    r"(?:-(?P<gravity>(?!wm\.)[a-z]+))?(?:-q(?P<q>\d{1,3}))?(?:-t(?P<t>\d{1,5}(?:\.\d{1,3})?))?"
    r"(?P<wm>-wm)?\.(?P<format>[a-z]+)"
)
PRESET_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
SIGNATURE_VERSION = b"variant-spec-v1:"
MIN_SECRET_LENGTH = 32


class SpecInvalid(DomainError):
    """Not a spec of the grammar, or a value out of its range."""

    code = "variant_spec_invalid"


class TooManyPixels(DomainError):
    code = "variant_too_many_pixels"


class PresetUnknown(DomainError):
    code = "variant_preset_unknown"


class SpecUnsigned(DomainError):
    """A spec that is not a preset came without a signature."""

    code = "variant_spec_unsigned"


class SignatureInvalid(DomainError):
    code = "variant_signature_invalid"


@dataclass(frozen=True, kw_only=True)
class VariantSpec:
    mode: Mode
    width: int
    height: int
    format: Format
    gravity: Gravity = "center"
    quality: int | None = None  # None: the format's default (and always None for PNG)
    seconds: float | None = None  # a video's poster time; None: the automatic poster
    watermark: bool = False

    def __post_init__(self) -> None:
        if self.mode == "fit":
            object.__setattr__(self, "gravity", "center")
        if self.format == "png":
            object.__setattr__(self, "quality", None)
        elif self.quality is None:
            object.__setattr__(self, "quality", DEFAULT_QUALITY[self.format])

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def normalized(self, watermark_tag: str = "") -> str:
        """The one spelling of this variant (no defaults left implicit, none redundant).

        `watermark_tag` names the configured watermark in stored names, so a new
        watermark makes new variants.
        """
        parts = [f"{self.mode}-{self.width}x{self.height}"]
        if self.mode != "fit":
            parts.append(self.gravity)
        if self.quality is not None:
            parts.append(f"q{self.quality}")
        if self.seconds is not None:
            parts.append(f"t{_seconds(self.seconds)}")
        if self.watermark:
            parts.append(f"wm{watermark_tag}")
        return "-".join(parts) + f".{self.format}"

    def for_kind(self, kind: str) -> VariantSpec:
        """The spec as it applies to a source of `kind`: only videos have a poster time."""
        return self if kind == "video" else replace(self, seconds=None)

    @property
    def content_type(self) -> str:
        return f"image/{self.format}"


def parse_spec(text: str, *, max_pixels: int) -> VariantSpec:
    """The spec `text` names; SpecInvalid or TooManyPixels when it is not a valid one."""
    match = _SPEC.fullmatch(text)
    if match is None:
        raise SpecInvalid(
            f"{text[:100]!r} is not <fit|fill|crop>-<w>x<h>[-<gravity>][-q<quality>]"
            "[-t<seconds>][-wm].<jpeg|png|webp|avif>"
        )
    width, height = int(match["w"]), int(match["h"])
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        raise SpecInvalid(
            f"width and height must be 1..{MAX_SIDE}: {width}x{height} is out of range"
        )
    if width * height > max_pixels:
        raise TooManyPixels(
            f"{width}x{height} is more than the {max_pixels} pixels a variant may have"
        )
    fmt = _FORMATS.get(match["format"])
    if fmt is None:
        raise SpecInvalid(f"format {match['format']!r} is not one of jpeg, png, webp, avif")
    gravity = _GRAVITIES.get(match["gravity"] or "center")
    if gravity is None:
        raise SpecInvalid(f"gravity {match['gravity']!r} is not center or smart")
    quality = int(match["q"]) if match["q"] else None
    if quality is not None and not 1 <= quality <= 100:
        raise SpecInvalid(f"quality {quality} is out of range 1..100")
    seconds = float(match["t"]) if match["t"] else None
    if seconds is not None and seconds > MAX_SECONDS:
        raise SpecInvalid(f"poster time {seconds:g} s is out of range 0..{MAX_SECONDS}")
    mode: Mode = match["mode"]  # type: ignore[assignment]  # the regex allows only these
    return VariantSpec(
        mode=mode,
        width=width,
        height=height,
        format=fmt,
        gravity=gravity,
        quality=quality,
        seconds=seconds,
        watermark=bool(match["wm"]),
    )


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


def parse_presets(text: str, *, max_pixels: int) -> dict[str, VariantSpec]:
    """`name=spec,name=spec` (MEDIAPLANE_THUMBNAILER_VARIANT_PRESETS); ValueError when bad."""
    presets: dict[str, VariantSpec] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, spec = item.partition("=")
        name = name.strip()
        if not PRESET_NAME.fullmatch(name) or name in presets:
            raise ValueError(f"variant preset name {name!r} is invalid or given twice")
        try:
            presets[name] = parse_spec(spec.strip(), max_pixels=max_pixels)
        except DomainError as error:
            raise ValueError(f"variant preset {name!r}: {error.detail}") from None
    return presets


class SpecSigner:
    """HMAC-SHA256 over a spec's normal form, under a secret only the API holds.

    A signature is good for that spec on any file (what it bounds is the cost
    of making variants; who may read a file is checked on every request).
    """

    def __init__(self, secret: str) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"the variant signing secret needs at least {MIN_SECRET_LENGTH} characters"
            )
        self._key = secret.encode()

    def sign(self, spec: VariantSpec) -> str:
        mac = hmac.new(self._key, SIGNATURE_VERSION + spec.normalized().encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()[:24]).decode().rstrip("=")

    def check(self, spec: VariantSpec, signature: str) -> None:
        if not hmac.compare_digest(self.sign(spec).encode(), signature.encode()):
            raise SignatureInvalid("the signature does not match this spec")


@dataclass(frozen=True, kw_only=True)
class SpecPolicy:
    """Which specs a request may ask for: a preset, or a spec the API signed."""

    presets: Mapping[str, VariantSpec]
    max_pixels: int
    signer: SpecSigner | None  # None: only presets

    def resolve(self, segment: str, signature: str | None) -> VariantSpec:
        if "." not in segment:
            preset = self.presets.get(segment)
            if preset is None:
                raise PresetUnknown(f"no variant preset {segment[:40]!r}")
            return preset
        spec = parse_spec(segment, max_pixels=self.max_pixels)
        if signature is None:
            raise SpecUnsigned("a spec other than a preset needs the API's signature (`?sig=`)")
        if self.signer is None:
            raise SignatureInvalid("signed specs are not enabled here: use a preset")
        self.signer.check(spec, signature)
        return spec
