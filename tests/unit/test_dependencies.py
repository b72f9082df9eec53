"""Every dependency in pyproject.toml has an upper bound, and the bounds admit what is installed.

A dependency without an upper bound installs whatever major release comes out next, on a fresh
clone, untested; the bound makes that a deliberate change to this file instead.
"""

import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
# Operators that cap the version from above: "<", "<=", an exact pin or a compatible release.
CAPPING = {"<", "<=", "==", "===", "~="}


def _pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def runtime_requirements(pyproject: dict) -> list[Requirement]:
    project = pyproject["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    return [Requirement(spec) for spec in specs]


def all_requirements(pyproject: dict) -> list[Requirement]:
    build = [Requirement(spec) for spec in pyproject["build-system"]["requires"]]
    return runtime_requirements(pyproject) + build


def uncapped(requirements: list[Requirement]) -> list[str]:
    return [str(r) for r in requirements if not any(s.operator in CAPPING for s in r.specifier)]


def test_uncapped_finds_a_requirement_without_upper_bound() -> None:
    found = uncapped([Requirement("numpy>=1.26"), Requirement("torch>=2.2,<3"), Requirement("vaderSentiment==3.3.2")])
    assert found == ["numpy>=1.26"]


def test_every_dependency_has_an_upper_bound() -> None:
    missing = uncapped(all_requirements(_pyproject()))
    assert not missing, f"add an upper bound (e.g. '<3') to these pyproject.toml dependencies: {missing}"


@pytest.mark.parametrize("requirement", runtime_requirements(_pyproject()), ids=lambda r: r.name)
def test_bounds_admit_the_installed_version(requirement: Requirement) -> None:
    installed = metadata.version(requirement.name)
    # The Makefile's torch is a local build ("2.13.0+cpu"); a bound speaks of the public version.
    assert SpecifierSet(str(requirement.specifier)).contains(installed.split("+")[0], prereleases=True), (
        f"{requirement.name} {installed} is installed but pyproject.toml allows only {requirement.specifier}"
    )
