import pytest
from django.core.exceptions import ImproperlyConfigured

from controltower.env import env_bool


@pytest.mark.parametrize("value", ["1", "true", "TRUE", "Yes", "on", " On "])
def test_a_yes_reads_true(monkeypatch, value):
    monkeypatch.setenv("TOWER_FLAG", value)
    assert env_bool("TOWER_FLAG", False) is True


@pytest.mark.parametrize("value", ["0", "false", "False", "NO", "off"])
def test_a_no_reads_false(monkeypatch, value):
    monkeypatch.setenv("TOWER_FLAG", value)
    assert env_bool("TOWER_FLAG", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_unset_or_empty_is_the_default(monkeypatch, default):
    monkeypatch.delenv("TOWER_FLAG", raising=False)
    assert env_bool("TOWER_FLAG", default) is default
    monkeypatch.setenv("TOWER_FLAG", "")
    assert env_bool("TOWER_FLAG", default) is default


@pytest.mark.parametrize("value", ["ture", "y", "2", "enabled"])
def test_a_value_it_does_not_know_is_refused_naming_it(monkeypatch, value):
    monkeypatch.setenv("TOWER_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match=f"TOWER_FLAG='{value}'"):
        env_bool("TOWER_FLAG", False)
