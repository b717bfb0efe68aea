import pytest
from pydantic import ValidationError

from schemas.departments import load_departments
from schemas.intake import DEPARTMENT_CHANGE_TYPES


def test_bundled_table_covers_every_change_type():
    table = load_departments("bundled")
    assert set().union(*table.departments.values()) == set(DEPARTMENT_CHANGE_TYPES)


def test_refusal_names_what_the_department_may_publish():
    table = load_departments("bundled")
    assert table.refusal("education", "education.enrolled_college") is None
    refused = table.refusal("education", "asset.property_bought")
    assert refused.render() == "部门 教育 不能报送 asset.property_bought；可报送：education.enrolled_college"
    assert "may publish education.enrolled_college" in refused.render("en")
    assert table.refusal("nobody", "employment.lost").render() == "未知部门 nobody"


def test_a_table_with_an_unknown_type_is_refused(tmp_path):
    path = tmp_path / "departments.toml"
    path.write_text('[departments]\neducation = ["education.enrolled_kindergarten"]\n')
    with pytest.raises(ValidationError, match="unknown change types"):
        load_departments(str(path))
