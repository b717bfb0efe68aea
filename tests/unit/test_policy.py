from importlib import resources

import pytest
from pydantic import ValidationError

from schemas.case import Priority
from streams.policies import BUNDLED, load_policy


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_policies_load_and_cover_every_level(name):
    policy = load_policy(name)
    assert set(policy.tracks) == set(Priority)
    assert policy.levels[Priority.P1] > policy.levels[Priority.P2] > policy.levels[Priority.P3]


def test_policy_from_a_path(tmp_path):
    text = resources.files("streams.policies").joinpath("default.toml").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(text.replace('version = "default-2026.11"', 'version = "mine-1"'))
    assert load_policy(str(path)).version == "mine-1"


def test_a_typo_in_a_policy_is_refused(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('version = "x"\nyelow_at = 0.5\n')
    with pytest.raises(ValidationError):
        load_policy(str(path))
