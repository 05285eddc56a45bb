"""Which way imports go: the kernel (controltower/, but for the screens and
the demo that compose the apps) imports no domain app."""
import ast
from pathlib import Path


ROOT = Path(__file__).resolve().parents[2]
DOMAIN = {"inventory", "exceptions", "rollout"}
# Composition, not kernel: these sit on top of the apps and may import them.
COMPOSITION = {ROOT / "controltower" / "web", ROOT / "controltower" / "demo"}


def imported_packages(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_the_kernel_imports_no_domain_app():
    offenders = []
    for path in sorted((ROOT / "controltower").rglob("*.py")):
        if any(part in path.parents for part in COMPOSITION) or "migrations" in path.parts:
            continue
        found = DOMAIN & set(imported_packages(path))
        if found:
            offenders.append(f"{path.relative_to(ROOT)}: {', '.join(sorted(found))}")
    assert offenders == []


def test_no_app_imports_the_screens():
    """controltower.web composes the apps; the apps and the kernel never depend on it."""
    offenders = []
    for package in ("controltower", *sorted(DOMAIN)):
        for path in sorted((ROOT / package).rglob("*.py")):
            if ROOT / "controltower" / "web" in path.parents:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("controltower.web"):
                    offenders.append(f"{path.relative_to(ROOT)}: {node.module}")
    assert offenders == []


MAX_LINES = 700


def test_no_product_module_is_over_700_lines():
    """A module that long holds more than one concern: split it by concern
    (as exceptions/services/). Migrations and tests are not product modules."""
    offenders = []
    for package in ("controltower", *sorted(DOMAIN)):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                offenders.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert offenders == []


def test_inventory_imports_neither_exceptions_nor_rollout():
    """Inventory is the bottom app: the cases and the rollout build on it,
    never the other way (its migrations may depend on theirs)."""
    offenders = []
    for path in sorted((ROOT / "inventory").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        found = {"exceptions", "rollout"} & set(imported_packages(path))
        if found:
            offenders.append(f"{path.relative_to(ROOT)}: {', '.join(sorted(found))}")
    assert offenders == []
