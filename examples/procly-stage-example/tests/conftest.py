"""Run from Procly's environment (the package imports `app.stages`): `python -m pytest tests`."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
