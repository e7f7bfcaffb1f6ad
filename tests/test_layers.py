"""The layering written in pyproject.toml ([tool.importlinter]) holds: `lint-imports` reports no broken
contract (layers, the pure engine, no import cycles between the modules of a package)."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is not installed (pip install -e '.[test]')"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


APP = ROOT / "app"
MAX_LINES = 400


def _modules():
    return sorted(APP.rglob("*.py"))


def test_imports_sit_at_the_top_of_their_module():
    """Function-level imports hide dependencies from the layer check: every import is at module level
    (or under `if TYPE_CHECKING:`)."""
    import ast

    found = []
    for path in _modules():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += [f"{path.relative_to(ROOT)}:{n.lineno}" for n in ast.walk(node)
                          if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not found, found


def test_no_private_names_imported_across_modules():
    import ast

    found = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("app"):
                found += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}" for a in node.names
                          if a.name.startswith("_")]
    assert not found, found


def test_modules_stay_short():
    """No Python module of app/ and no JS module of static/js (vendored libraries aside) over 400 lines."""
    files = _modules() + [p for p in (ROOT / "static" / "js").rglob("*.js") if "vendor" not in p.parts]
    long = {str(p.relative_to(ROOT)): n for p in files if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, long
