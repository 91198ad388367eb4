"""Upload policy: modes and part sizes S3 accepts, names, types, tags and quotas."""

from __future__ import annotations

import pytest

from mediaplane.domain.quota import Plans, Quota, plans_from_env
from mediaplane.upload_gateway.domain.errors import (
    ContentTypeNotAllowed,
    InvalidFilename,
    InvalidTag,
    QuotaExceeded,
    SizeOutOfRange,
)
from mediaplane.upload_gateway.domain.policy import (
    S3_MAX_PARTS,
    S3_MIN_PART,
    GiB,
    MiB,
    OwnerUsage,
    UploadLimits,
    check_content_type,
    check_quota,
    expected_part_size,
    normalize_tag,
    normalize_tags,
    plan_upload,
    sanitize_filename,
)

LIMITS = UploadLimits()


@pytest.mark.parametrize("size", [1, 1000, 16 * MiB])
def test_small_files_are_a_single_put(size: int) -> None:
    plan = plan_upload(size, LIMITS)
    assert (plan.mode, plan.part_count, plan.part_size) == ("single", 1, size)


def test_larger_files_are_multipart_with_the_configured_part_size() -> None:
    plan = plan_upload(40 * MiB + 1, LIMITS)
    assert (plan.mode, plan.part_size, plan.part_count) == ("multipart", 16 * MiB, 3)
    assert expected_part_size(1, 40 * MiB + 1, plan) == 16 * MiB
    assert expected_part_size(3, 40 * MiB + 1, plan) == 8 * MiB + 1


def test_huge_files_grow_the_part_size_to_stay_within_10000_parts() -> None:
    size = 400 * GiB
    limits = UploadLimits(max_object_size=1024 * GiB)
    plan = plan_upload(size, limits)
    assert plan.part_count <= S3_MAX_PARTS
    assert plan.part_size % MiB == 0
    assert plan.part_size >= S3_MIN_PART
    assert plan.part_size * plan.part_count >= size


@pytest.mark.parametrize("size", [0, -1, 1000 * MiB + 1])
def test_sizes_out_of_range_are_refused(size: int) -> None:
    with pytest.raises(SizeOutOfRange):
        plan_upload(size, LIMITS)


def test_limits_refuse_part_sizes_s3_would_refuse() -> None:
    with pytest.raises(ValueError, match="part_size"):
        UploadLimits(part_size=1 * MiB)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("holiday.mp4", "holiday.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mov", "clip.mov"),
        ("bad\x00name\x1f.png", "badname.png"),
        ("  spaced.jpg  ", "spaced.jpg"),
        ("cafe\u0301.jpg", "caf\u00e9.jpg"),
    ],
)
def test_filenames_lose_directories_and_control_characters(raw: str, clean: str) -> None:
    assert sanitize_filename(raw) == clean


def test_long_filenames_are_capped_at_255_bytes_keeping_the_extension() -> None:
    name = sanitize_filename("é" * 300 + ".webm")
    assert len(name.encode()) <= 255
    assert name.endswith(".webm")
    name.encode().decode()  # still valid UTF-8


@pytest.mark.parametrize("raw", ["", "   ", "../", "\x00\x01"])
def test_filenames_with_nothing_usable_are_refused(raw: str) -> None:
    with pytest.raises(InvalidFilename):
        sanitize_filename(raw)


def test_content_types_are_normalized_and_checked_against_the_allow_list() -> None:
    assert check_content_type("Video/MP4; codecs=avc1", LIMITS) == "video/mp4"
    assert check_content_type("application/pdf", LIMITS) == "application/pdf"
    with pytest.raises(ContentTypeNotAllowed):
        check_content_type("application/x-msdownload", LIMITS)
    with pytest.raises(ContentTypeNotAllowed):
        check_content_type("not a type", LIMITS)


def test_tags_are_trimmed_lowercased_deduplicated_and_sorted() -> None:
    assert normalize_tags([" Beach ", "beach", "Summer  2026"], LIMITS) == ["beach", "summer 2026"]
    for bad in ["", "x" * 65, "semi;colon", "-leading"]:
        with pytest.raises(InvalidTag):
            normalize_tag(bad)
    with pytest.raises(InvalidTag):
        normalize_tags([f"t{i}" for i in range(33)], LIMITS)


def test_quota_counts_live_files_and_bytes_reserved_by_open_sessions() -> None:
    quota = Quota(files=3, bytes=100 * MiB)
    check_quota(
        OwnerUsage(files=1, open_sessions=1, bytes=50 * MiB, reserved_bytes=40 * MiB),
        10 * MiB,
        quota,
    )
    with pytest.raises(QuotaExceeded, match="byte quota"):
        check_quota(OwnerUsage(bytes=50 * MiB, reserved_bytes=40 * MiB), 10 * MiB + 1, quota)
    with pytest.raises(QuotaExceeded, match="at most 3 files"):
        check_quota(OwnerUsage(files=2, open_sessions=1), 1, quota)


def test_the_plan_comes_from_the_projection_then_the_token_then_the_default() -> None:
    plans = Plans.standard()
    assert plans.plan_of("pro", "free") == "pro"  # the identity service's record wins
    assert plans.plan_of(None, "pro") == "pro"  # no event yet: the token's claim
    assert plans.plan_of(None, None) == "free"
    assert plans.plan_of("gold", "pro") == "free"  # a plan this table lacks: the default
    assert plans.quota("pro").files > plans.quota("free").files
    assert plans.quota("gold") == plans.quota("free")
    with pytest.raises(ValueError, match="default plan"):
        Plans(quotas={"free": Quota()}, default="pro")
    with pytest.raises(ValueError, match="negative"):
        Quota(files=-1)


def test_the_plan_table_comes_from_the_environment() -> None:
    plans = plans_from_env(
        '{"basic": {"files": 2, "bytes": 10}, "team": {"files": 9, "bytes": 99}}', None
    )
    assert plans.default == "basic"
    assert plans.quota("team") == Quota(files=9, bytes=99)
    assert plans_from_env(None, "pro").default == "pro"
    for bad in ["[]", "{}", '{"x": {"files": 1}}', "not json"]:
        with pytest.raises(ValueError, match="MEDIAPLANE_PLANS"):
            plans_from_env(bad, None)


def test_an_override_replaces_the_plans_quota_field_by_field() -> None:
    plans = Plans(quotas={"free": Quota(files=10, bytes=100)}, default="free")
    assert plans.effective("free", files=None, bytes=None) == Quota(files=10, bytes=100)
    assert plans.effective("free", files=1, bytes=None) == Quota(files=1, bytes=100)
    assert plans.effective("gold", files=None, bytes=0) == Quota(files=10, bytes=0)
