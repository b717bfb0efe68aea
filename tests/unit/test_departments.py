import pytest
from pydantic import ValidationError

from schemas.departments import load_departments
from schemas.intake import DEPARTMENT_CHANGE_TYPES
from schemas.messages import messages


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


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_bundled_department_has_a_name_people_read(language):
    names = messages(language)
    assert [code for code in load_departments("bundled").departments if f"department.{code}" not in names] == []
