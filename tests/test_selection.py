from __future__ import annotations

import pytest

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.project.selection import Selection, select

GROUPS = {"main", "dev", "docs"}
EXTRAS = ["idn", "Socks_Proxy"]


def test_default_is_main_only() -> None:
    assert select(GROUPS, EXTRAS) == Selection(groups=("main",))
    assert Selection().install_options() == "--only main"


def test_with_without_only() -> None:
    assert select(GROUPS, EXTRAS, with_groups=["dev,docs"]).groups == ("main", "dev", "docs")
    assert select(GROUPS, EXTRAS, with_groups=["dev"], without_groups=["main"]).groups == ("dev",)
    assert select(GROUPS, EXTRAS, only_groups=["docs"]).install_options() == "--only docs"


def test_extras_are_canonicalised_to_the_declared_name() -> None:
    selection = select(GROUPS, EXTRAS, extras=["socks-proxy idn"])
    assert selection.extras == ("Socks_Proxy", "idn")
    assert selection.install_options() == '--only main --extras "Socks_Proxy idn"'
    assert select(GROUPS, EXTRAS, all_extras=True).install_options() == "--only main --all-extras"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"with_groups": ["nope"]}, "Group 'nope' is not in pyproject.toml (groups: dev, docs, main)."),
        ({"extras": ["nope"]}, "Extra 'nope' is not in pyproject.toml (extras: Socks_Proxy, idn)."),
        ({"only_groups": ["dev"], "with_groups": ["docs"]}, "--only cannot be combined"),
        ({"without_groups": ["main"]}, "No dependency group is left"),
        ({"all_extras": True, "extras": ["idn"]}, "--all-extras cannot be combined"),
    ],
)
def test_bad_selections_are_refused(kwargs, message) -> None:
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(")", r"\)")):
        select(GROUPS, EXTRAS, **kwargs)
