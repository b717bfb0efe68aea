from pathlib import Path

import pytest
from pydantic import ValidationError

from api.auth import Principal, normalise_role
from schemas.partners import BUNDLED, load_partners


def test_the_bundled_partners_are_a_department_charities_and_a_social_organisation():
    partners = load_partners(BUNDLED).partners
    assert {name: p.kind for name, p in partners.items()} == {
        "civil-affairs": "department",
        "county-charity": "charity",
        "red-cross": "charity",
        "sunshine-social-work": "social_organisation",
    }
    assert partners["county-charity"].name_zh == "县慈善总会" and partners["red-cross"].name_en == "County Red Cross"


def test_a_county_replaces_the_partners_with_its_own_file(tmp_path: Path):
    own = tmp_path / "partners.toml"
    own.write_text('[partners.food-bank]\nkind = "charity"\nname_zh = "县食物银行"\nname_en = "County Food Bank"\n', encoding="utf-8")
    assert list(load_partners(str(own)).partners) == ["food-bank"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[partners."Food Bank"]\nkind = "charity"\nname_zh = "x"\nname_en = "x"\n', encoding="utf-8")
    with pytest.raises(ValidationError, match="must match"):
        load_partners(str(bad))


def test_a_partner_role_names_a_known_partner_only():
    assert normalise_role("partner:county-charity") == "partner:county-charity"
    assert Principal("partner:red-cross").partner == "red-cross" and Principal("officer:city:*").partner is None
    for unknown in ("partner:no-such-charity", "partner:", "partner"):
        with pytest.raises(ValueError, match="unknown role"):
            normalise_role(unknown)
