"""The documentation cannot drift from the code: the metrics reference is what
the registry generates, the configuration page names every environment
variable the code reads (and none it does not), the README stays a short
entry into docs/, and the site builds offline."""
import ast
import io
import os
import re
import subprocess
import sys
from pathlib import Path

from django.core.management import call_command

from controltower.celery import app

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PACKAGES = ("controltower", "inventory", "exceptions", "rollout")


def env_helpers():
    """The readers of controltower/env.py (env_str, env_int, ...)."""
    tree = ast.parse((ROOT / "controltower" / "env.py").read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def variable_name(node):
    """A literal name as it is, an f-string as a pattern with <...> for each
    placeholder (f"RECONCILE_{kind.upper()}_EVERY_S": RECONCILE_<KIND>_EVERY_S);
    None for a name computed otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
            else:
                inner = value.value
                while isinstance(inner, (ast.Call, ast.Attribute)):
                    inner = inner.func if isinstance(inner, ast.Call) else inner.value
                parts.append(f"<{getattr(inner, 'id', 'x').strip('_').upper()}>")
        return "".join(parts)
    return None


def variables_read():
    """Every environment variable name the product code reads: the settings
    through controltower/env.py's helpers, any module through os.environ or
    os.getenv (setdefault is a write, not a read)."""
    helpers, names = env_helpers(), set()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name == "env.py" or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                reads = (isinstance(func, ast.Name) and func.id in helpers) or (
                    isinstance(func, ast.Attribute) and (
                        func.attr in helpers
                        or func.attr == "getenv"
                        or (func.attr == "get" and ast.unparse(func.value) == "os.environ")))
                name = variable_name(node.args[0]) if reads else None
                if name:
                    names.add(name)
    return names


def pattern(name):
    """A name with <...> placeholders as a regex over documented names."""
    return re.compile("".join(r"[A-Z0-9_]+" if part.startswith("<") else re.escape(part)
                              for part in re.split(r"(<[A-Z_]+>)", name) if part))


def configuration_page():
    return (DOCS / "configuration.md").read_text()


def documented_variables():
    """The first column of the configuration page's tables."""
    return set(re.findall(r"^\| `([A-Z][A-Z0-9_<>]*)` \|", configuration_page(), flags=re.M))


def test_the_settings_read_names_the_ast_walk_finds():
    names = variables_read()
    assert {"DATABASE_URL", "SECRET_KEY", "SECURE_COOKIES", "API_THROTTLE_SOURCE"} <= names
    assert "RECONCILE_<KIND>_EVERY_S" in names


def test_the_configuration_page_names_every_variable_the_code_reads():
    documented, page = documented_variables(), configuration_page()
    missing = []
    for name in sorted(variables_read()):
        if "<" in name:
            # A family (one per reconciliation kind): named as a pattern, whatever the placeholder's word.
            family = pattern(name).pattern.replace(r"[A-Z0-9_]+", r"<[A-Z_]+>")
            if not re.search(f"`{family}`", page):
                missing.append(name)
        elif name not in documented:
            missing.append(name)
    assert missing == [], "docs/configuration.md does not document these environment variables"


def test_the_configuration_page_names_no_variable_nothing_reads():
    procfile = set(re.findall(r"\$\{([A-Z_]+)", (ROOT / "Procfile").read_text()))
    read = variables_read()
    families = [pattern(name) for name in read if "<" in name]
    gone = sorted(name for name in documented_variables()
                  if name not in read and name not in procfile and "<" not in name
                  and not any(family.fullmatch(name) for family in families))
    assert gone == [], "docs/configuration.md documents variables that nothing reads"


def test_the_configuration_page_gives_every_reconciliation_kind_its_interval():
    """One row per kind beat runs, with the interval beat runs it at (no override set in tests)."""
    page = configuration_page()
    kinds = {entry["task"].removeprefix("reconcile."): entry["schedule"]
             for entry in app.conf.beat_schedule.values() if entry["task"].startswith("reconcile.")}
    assert kinds
    for kind, every in kinds.items():
        assert f"| `RECONCILE_{kind.upper()}_EVERY_S` | {every} (" in page, kind
    rows = re.findall(r"^\| `RECONCILE_([A-Z_]+)_EVERY_S` \|", page, flags=re.M)
    assert sorted(rows) == sorted(kind.upper() for kind in kinds)


def test_the_metrics_reference_is_what_the_registry_generates():
    out = io.StringIO()
    call_command("metrics_reference", stdout=out)
    committed = (DOCS / "reference" / "metrics.md").read_text()
    assert committed == out.getvalue(), (
        "docs/reference/metrics.md is out of date: run "
        "`.venv/bin/python manage.py metrics_reference > docs/reference/metrics.md`")


def test_the_readme_is_a_short_entry_into_the_docs():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    assert "make demo" in readme and "make test" in readme and "demo-password" in readme
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert links, "the README links into docs/"
    assert [link for link in links if not (ROOT / link).is_file()] == []


def test_the_site_builds_offline(tmp_path):
    """Strict (a broken link or anchor fails), and nothing loaded from another host:
    no web fonts, no CDN, no external script or stylesheet."""
    site = tmp_path / "site"
    build = subprocess.run([Path(sys.executable).with_name("mkdocs"), "build", "--strict", "--quiet",
                            "--site-dir", str(site)], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, build.stderr
    external = re.compile(r"<(?:script|img|link|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.I)
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 10
    offenders = [str(page.relative_to(site)) for page in pages if external.search(page.read_text())]
    assert offenders == []
    assert (site / "screenshots" / "store-manager-1-home.png").is_file()


def test_the_operations_page_shows_the_procfile_as_it_is():
    page = (DOCS / "operations.md").read_text()
    for line in (ROOT / "Procfile").read_text().splitlines():
        assert line in page, line
