"""How `pytest -n` splits the suite: test by test, the one-worker paths whole."""

from mediaplane.devstack.one_worker import scope_of

PATHS = ["tests/platform"]


def test_a_test_under_a_one_worker_path_goes_with_the_rest_of_that_path() -> None:
    assert scope_of("tests/platform/test_edge.py::test_health", PATHS) == "tests/platform"
    assert scope_of("tests/platform/test_web_ui.py::test_upload[a]", PATHS) == "tests/platform"


def test_any_other_test_is_a_unit_of_its_own() -> None:
    for nodeid in (
        "tests/client/test_cli.py::test_upload",
        "tests/platformer/test_x.py::test_y",  # a prefix of the name is not the folder
        "services/catalog/tests/integration/test_rebuild.py::test_rebuild[100k]",
    ):
        assert scope_of(nodeid, PATHS) == nodeid


def test_a_trailing_slash_in_the_setting_changes_nothing() -> None:
    assert scope_of("tests/platform/test_k8s.py::test_x", ["tests/platform/"]) == (
        "tests/platform/"
    )
