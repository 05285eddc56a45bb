"""Which way imports go, read from the source (ast).

The layers, bottom up: the kernel (controltower/, but for the screens and
the demo that compose the apps), then inventory, exceptions, rollout. A
module imports its own layer and those below it: rollout may import
exceptions and inventory, exceptions may import inventory, inventory
neither, the kernel no app. No app imports another app's views, forms, API
or management commands; no app's modules import each other in a circle; the
pieces every app shares are defined once, in the kernel."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNEL = "controltower"
# Bottom up: each may import those before it.
LAYERS = (KERNEL, "inventory", "exceptions", "rollout")
DOMAIN = set(LAYERS) - {KERNEL}
# Composition, not kernel: these sit on top of the apps and may import them.
COMPOSITION = (ROOT / "controltower" / "web", ROOT / "controltower" / "demo")
# An app's own ways in, which no other app uses.
ENTRY_POINTS = ("views", "forms", "api", "management")


def source_files(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts or any(folder in path.parents for folder in COMPOSITION):
            continue
        yield path


def module_of(path):
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path):
    """Every module `path` imports, at the top or inside a function, as dotted
    names (a relative import resolved), with each imported name appended too
    (`from . import gates` is the module rollout.gates)."""
    package = module_of(path) if path.name == "__init__.py" else module_of(path).rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            yield module
            yield from (f"{module}.{alias.name}" for alias in node.names)


def test_the_layers_import_only_downwards():
    offenders = []
    for layer, package in enumerate(LAYERS):
        above = set(LAYERS[layer + 1:])
        for path in source_files(package):
            name = str(path.relative_to(ROOT))
            found = {module.split(".")[0] for module in imported_modules(path)} & above
            if found:
                offenders.append(f"{name}: {', '.join(sorted(found))}")
    assert offenders == []


def test_no_app_imports_another_apps_views_forms_api_or_commands():
    offenders = []
    for package in (KERNEL, *sorted(DOMAIN)):
        for path in source_files(package):
            for module in set(imported_modules(path)):
                app, _, rest = module.partition(".")
                if app in DOMAIN and app != package and rest.split(".")[0] in ENTRY_POINTS:
                    offenders.append(f"{path.relative_to(ROOT)}: {module}")
    assert offenders == []


def test_no_app_imports_the_screens():
    """controltower.web composes the apps; the apps and the kernel never depend on it."""
    offenders = []
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ROOT / "controltower" / "web" in path.parents:
                continue
            if any(module.startswith("controltower.web") for module in imported_modules(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def cycles(graph):
    """The strongly connected groups of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in graph:
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_no_modules_of_an_app_import_each_other_in_a_circle(package):
    """Not even inside a function (rollout.models and rollout.schedule did)."""
    paths = {module_of(path): path for path in source_files(package)}
    graph = {name: {module for module in imported_modules(path) if module in paths and module != name}
             for name, path in paths.items()}
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# Each shared piece and the one kernel module that defines it.
SHARED = {
    "IsSourceSystem": "controltower/api.py",
    "IsPerson": "controltower/api.py",
    "JSONParser": "controltower/api.py",
    "ImportReportSerializer": "controltower/api.py",
    "NotInScope": "controltower/answers.py",
    "refused": "controltower/answers.py",
    "not_found": "controltower/answers.py",
    "add_service_errors": "controltower/answers.py",
    "object_action": "controltower/answers.py",
    "ImportReport": "controltower/imports.py",
    "RefusedRow": "controltower/imports.py",
    "read_csv_file": "controltower/imports.py",
    "CsvImportCommand": "controltower/imports.py",
    "csv_response": "controltower/csvsafe.py",
    "CodesFilter": "controltower/filters.py",
    "UtcDateTimeFilter": "controltower/filters.py",
}
# Calls and words that belong to one kernel module: the JSON parser, the CSV
# stream, the row lock, the refusal and not-found pages.
ONLY_IN = {
    "BaseParser": "controltower/api.py",
    "StreamingHttpResponse": "controltower/csvsafe.py",
    "select_for_update": "controltower/locks.py",
    "refused.html": "controltower/answers.py",
    "not_found.html": "controltower/answers.py",
}


def product_files():
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_the_shared_pieces_are_defined_once_in_the_kernel():
    defined = {}
    for path in product_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in SHARED:
                defined.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert defined == {name: [home] for name, home in SHARED.items()}


def test_the_parser_the_csv_stream_the_row_lock_and_the_refusal_pages_have_one_home():
    found = {}
    for path in product_files():
        text = path.read_text()
        for word in ONLY_IN:
            if word in text:
                found.setdefault(word, []).append(str(path.relative_to(ROOT)))
    assert found == {word: [home] for word, home in ONLY_IN.items()}


def test_a_metric_is_registered_one_way():
    """controltower.metrics.register is called only from a register_metrics()
    of the module that holds the metric's rule, by that name."""
    offenders = []
    for path in product_files():
        tree = ast.parse(path.read_text())
        names = {alias.asname or alias.name for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module == "controltower.metrics"
                 for alias in node.names if alias.name == "register"}
        if names - {"register"}:
            offenders.append(f"{path.relative_to(ROOT)}: register imported as {', '.join(sorted(names))}")
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "register_metrics":
                continue
            if any(isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in names
                   for call in ast.walk(node)):
                offenders.append(f"{path.relative_to(ROOT)}: {getattr(node, 'name', 'module level')}")
    assert offenders == []


MAX_LINES = 700


def test_no_product_module_is_over_700_lines():
    """A module that long holds more than one concern: split it by concern
    (as exceptions/services/ and inventory/models/). Migrations and tests are
    not product modules."""
    offenders = []
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            lines = len(path.read_text().splitlines())
            if lines > MAX_LINES:
                offenders.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert offenders == []


def test_only_the_simulate_command_uses_the_simulator_and_its_ground_truth():
    """The detectors never read the simulator's ground truth: no module of the
    kernel, inventory or exceptions imports rollout.simulator or the fault
    models; in rollout only the simulator and its command do, and above the
    layers only the demo, whose full size the simulator builds."""
    allowed = (ROOT / "rollout" / "simulator", ROOT / "controltower" / "demo")
    command = ROOT / "rollout" / "management" / "commands" / "simulate.py"
    ground_truth = ("rollout.simulator", "rollout.models.InjectedFault", "rollout.models.Simulation")
    offenders = []
    for package in LAYERS:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or path == command or any(a in path.parents for a in allowed):
                continue
            if any(module.startswith(ground_truth) for module in imported_modules(path)):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
