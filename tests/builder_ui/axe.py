"""axe-core (from npm) run in the page under test: the violations of an impact at least serious."""
from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def serious(page) -> list:
    """[rule id, impact, [target + message…]] of every serious or critical violation on the page."""
    page.evaluate(AXE.read_text())     # evaluated, not a <script> tag: the page's CSP stays in force
    found = page.evaluate("""async () => (await axe.run(document)).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => [v.id, v.impact, v.nodes.map(n => n.target.join(' ') + ' ' + ((n.any[0] || n.all[0] || {}).message || ''))])""")
    for rule in found:
        print("axe:", rule)
    return found
