"""Variant specs: the grammar, normal forms, ranges, the pixel cap, presets, signatures."""

from __future__ import annotations

import pytest

from mediaplane.domain import DomainError
from mediaplane.thumbnailer.domain.variant_geometry import geometry, window_positions
from mediaplane.thumbnailer.domain.variant_spec import (
    SpecPolicy,
    SpecSigner,
    VariantSpec,
    parse_presets,
    parse_spec,
)

CAP = 4096 * 4096
SECRET = "variant-signing-secret-for-the-tests-0123"


def spec(text: str) -> VariantSpec:
    return parse_spec(text, max_pixels=CAP)


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        ("fit-800x600.webp", "fit-800x600-q80.webp"),
        ("fit-800x600-smart.webp", "fit-800x600-q80.webp"),  # gravity means nothing to fit
        ("fill-400x300.jpg", "fill-400x300-center-q82.jpeg"),
        ("fill-400x300-centre-q82.jpeg", "fill-400x300-center-q82.jpeg"),
        ("crop-200x200-smart-q50-wm.avif", "crop-200x200-smart-q50-wm.avif"),
        ("fit-100x100-q90.png", "fit-100x100.png"),  # PNG is lossless: no quality
        ("fit-640x360-t2.50.webp", "fit-640x360-q80-t2.5.webp"),
        ("fit-640x360-t0.webp", "fit-640x360-q80-t0.webp"),
    ],
)
def test_every_spelling_of_a_variant_has_one_normal_form(text: str, normal: str) -> None:
    assert spec(text).normalized() == normal
    assert spec(normal).normalized() == normal


def test_the_watermark_tag_names_the_configured_watermark_in_stored_names() -> None:
    assert spec("fit-10x10-wm.png").normalized("1a2b3c4d") == "fit-10x10-wm1a2b3c4d.png"


def test_only_videos_keep_a_poster_time() -> None:
    timed = spec("fit-64x64-t3.webp")
    assert timed.for_kind("video").seconds == 3
    assert timed.for_kind("image").normalized() == "fit-64x64-q80.webp"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "variant_spec_invalid"),
        ("fit-800x600", "variant_spec_invalid"),  # no format
        ("scale-800x600.webp", "variant_spec_invalid"),
        ("fit-800x600.gif", "variant_spec_invalid"),
        ("fit-0x600.webp", "variant_spec_invalid"),
        ("fit-9000x10.webp", "variant_spec_invalid"),
        ("fill-10x10-north.webp", "variant_spec_invalid"),
        ("fit-10x10-q0.webp", "variant_spec_invalid"),
        ("fit-10x10-q101.webp", "variant_spec_invalid"),
        ("fit-10x10-t90000.webp", "variant_spec_invalid"),
        ("fit-10x10-t1.2345.webp", "variant_spec_invalid"),
        ("fit-10x10.webp?x=1", "variant_spec_invalid"),
        ("../fit-10x10.webp", "variant_spec_invalid"),
        ("fit-5000x5000.webp", "variant_too_many_pixels"),
    ],
)
def test_specs_out_of_the_grammar_or_range_are_refused_with_a_code(text: str, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        spec(text)
    assert refused.value.code == code


def test_presets_are_parsed_and_checked_against_the_cap() -> None:
    presets = parse_presets("card=fill-400x300-smart.webp, hero=fit-1600x900.avif", max_pixels=CAP)
    assert presets["card"].normalized() == "fill-400x300-smart-q80.webp"
    for bad in ("Card=fit-1x1.png", "a=fit-1x1.png,a=fit-2x2.png", "big=fit-8000x8000.webp"):
        with pytest.raises(ValueError, match="preset"):
            parse_presets(bad, max_pixels=CAP)


def policy(*, signed: bool = True) -> SpecPolicy:
    return SpecPolicy(
        presets=parse_presets("card=fill-400x300-smart.webp", max_pixels=CAP),
        max_pixels=CAP,
        signer=SpecSigner(SECRET) if signed else None,
    )


def test_a_request_names_a_preset_or_a_signed_spec() -> None:
    signer = SpecSigner(SECRET)
    wanted = spec("fill-100x100-smart.webp")
    signature = signer.sign(wanted)
    assert policy().resolve("card", None) == policy().presets["card"]
    assert policy().resolve("fill-100x100-smart.webp", signature) == wanted
    # The signature covers the normal form: another spelling of the same spec verifies.
    assert policy().resolve("fill-100x100-smart-q80.webp", signature) == wanted


@pytest.mark.parametrize(
    ("segment", "signature", "code"),
    [
        ("nope", None, "variant_preset_unknown"),
        ("fit-100x100.webp", None, "variant_spec_unsigned"),
        ("fit-100x100.webp", "AAAA", "variant_signature_invalid"),
        ("fit-101x100.webp", "sign:fit-100x100.webp", "variant_signature_invalid"),
        ("fit-0x100.webp", "AAAA", "variant_spec_invalid"),
        ("fit-5000x5000.webp", "AAAA", "variant_too_many_pixels"),
    ],
)
def test_unknown_unsigned_and_forged_specs_are_refused(
    segment: str, signature: str | None, code: str
) -> None:
    if signature and signature.startswith("sign:"):
        signature = SpecSigner(SECRET).sign(spec(signature.removeprefix("sign:")))
    with pytest.raises(DomainError) as refused:
        policy().resolve(segment, signature)
    assert refused.value.code == code


def test_without_a_secret_only_presets_are_served() -> None:
    with pytest.raises(DomainError) as refused:
        policy(signed=False).resolve("fit-100x100.webp", "AAAA")
    assert refused.value.code == "variant_signature_invalid"


def test_a_short_signing_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        SpecSigner("short")


@pytest.mark.parametrize(
    ("text", "source", "resize", "output"),
    [
        ("fit-800x800.webp", (4000, 3000), (800, 600), (800, 600)),
        ("fit-800x800.webp", (400, 300), (400, 300), (400, 300)),  # never enlarged
        ("fill-400x400.webp", (4000, 3000), (533, 400), (400, 400)),
        ("fill-400x400.webp", (300, 200), (300, 200), (300, 200)),
        ("crop-100x50.webp", (400, 300), (400, 300), (100, 50)),
        ("crop-1000x50.webp", (400, 300), (400, 300), (400, 50)),
        ("fit-800x800.webp", (1, 1), (1, 1), (1, 1)),
    ],
)
def test_geometry(
    text: str, source: tuple[int, int], resize: tuple[int, int], output: tuple[int, int]
) -> None:
    plan = geometry(spec(text), *source)
    assert (plan.resize, plan.output) == (resize, output)


def test_window_positions_cover_both_ends() -> None:
    assert window_positions(0) == [0]
    assert window_positions(3) == [0, 1, 2, 3]
    assert window_positions(800)[0] == 0
    assert window_positions(800)[-1] == 800
