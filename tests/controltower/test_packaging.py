"""The installed packages (pyproject's packages.find include list) ship no
test or benchmark code: no module in them imports django.test or tests, and
none is a bench module. Reads the source tree; imports nothing."""
import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("django.test", "tests")


def installed_packages():
    """The top-level packages the wheel holds, from pyproject.toml."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted({pattern.rstrip("*").rstrip(".") for pattern in include})


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module
            # `from django import test` names the module in the alias
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def forbidden(module):
    return any(module == name or module.startswith(f"{name}.") for name in FORBIDDEN)


def test_the_installed_packages_are_the_apps():
    packages = installed_packages()
    assert {"controltower", "inventory", "exceptions", "rollout"} <= set(packages)
    assert "tests" not in packages
    for package in packages:
        assert (ROOT / package / "__init__.py").is_file(), package


def test_no_installed_module_imports_test_code():
    offenders = []
    for package in installed_packages():
        for path in sorted((ROOT / package).rglob("*.py")):
            offenders += [
                f"{path.relative_to(ROOT)}: {module}" for module in imported_modules(path) if forbidden(module)
            ]
    assert offenders == []


def test_no_benchmark_module_is_installed():
    benches = [
        str(path.relative_to(ROOT))
        for package in installed_packages()
        for path in (ROOT / package).rglob("*.py")
        if "bench" in path.stem
    ]
    assert benches == []


def test_no_product_app_imports_the_demo():
    """The demo composes the apps; they never depend on it."""
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for package in installed_packages()
        for path in sorted((ROOT / package).rglob("*.py"))
        if ROOT / "controltower" / "demo" not in path.parents
        for module in imported_modules(path)
        if module == "controltower.demo" or module.startswith("controltower.demo.")
    ]
    assert offenders == []
