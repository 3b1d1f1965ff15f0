"""Which dependency groups and extras the image installs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from poetry_plugin_docker.errors import UserError
from poetry_plugin_docker.values import comment

if TYPE_CHECKING:
    from collections.abc import Iterable

    from poetry_plugin_docker.project.loading import Project

MAIN_GROUP = "main"


@dataclass(frozen=True)
class Selection:
    groups: tuple[str, ...] = (MAIN_GROUP,)
    extras: tuple[str, ...] = ()
    all_extras: bool = False

    def install_options(self) -> str:
        """The options of `poetry install` that select exactly these groups and extras."""
        options = f"--only {','.join(self.groups)}"
        if self.all_extras:
            options += " --all-extras"
        elif self.extras:
            options += f' --extras "{" ".join(self.extras)}"'
        return options


def installed_selection(selection: Selection, has_main_group: bool) -> Selection | None:
    """The selection without the main group when the project has none (no runtime dependencies:
    `poetry install --only main` would fail), or None when no group is left to install."""
    if has_main_group or MAIN_GROUP not in selection.groups:
        return selection
    groups = tuple(group for group in selection.groups if group != MAIN_GROUP)
    if not groups:
        return None
    return Selection(groups=groups)  # extras are main dependencies: none without a main group


def _split(values: Iterable[str]) -> list[str]:
    """Option values, each possibly comma- or space-separated, as Poetry accepts them."""
    return [
        part for value in values for part in value.replace(",", " ").split() if part
    ]


def select(
    group_names: set[str],
    extra_names: Iterable[str],
    *,
    with_groups: Iterable[str] = (),
    without_groups: Iterable[str] = (),
    only_groups: Iterable[str] = (),
    extras: Iterable[str] = (),
    all_extras: bool = False,
) -> Selection:
    """Resolve the group and extra options; the default is the main group only."""
    with_list, without_list, only_list = (
        _split(with_groups),
        _split(without_groups),
        _split(only_groups),
    )
    for name in [*with_list, *without_list, *only_list]:
        if name not in group_names:
            known = ", ".join(sorted(group_names))
            raise UserError(f"Group '{comment(name)}' is not in pyproject.toml (groups: {known}).")
    if only_list and (with_list or without_list):
        raise UserError("--only cannot be combined with --with or --without; use one or the other.")

    groups = list(dict.fromkeys(only_list or [MAIN_GROUP, *with_list]))
    groups = [group for group in groups if group not in without_list]
    if not groups:
        raise UserError("No dependency group is left to install; drop one of the --without groups.")

    known_extras = {canonicalize_name(name): name for name in extra_names}
    chosen_extras = []
    for extra in _split(extras):
        if canonicalize_name(extra) not in known_extras:
            known = ", ".join(sorted(known_extras.values())) or "none"
            raise UserError(f"Extra '{comment(extra)}' is not in pyproject.toml (extras: {known}).")
        chosen_extras.append(known_extras[canonicalize_name(extra)])
    if all_extras and chosen_extras:
        raise UserError("--all-extras cannot be combined with --extras; use one or the other.")
    return Selection(
        groups=tuple(groups),
        extras=tuple(sorted(set(chosen_extras))),
        all_extras=all_extras,
    )


def configured_selection(project: Project, settings: dict[str, Any] | None = None) -> Selection:
    """The selection of these settings (keys as in [tool.poetry-plugin-docker]), else of that table."""
    settings = project.config if settings is None else settings
    return select(
        project.group_names,
        project.extra_names,
        with_groups=settings.get("with") or [],
        without_groups=settings.get("without") or [],
        only_groups=settings.get("only") or [],
        extras=settings.get("extras") or [],
        all_extras=bool(settings.get("all-extras")),
    )
