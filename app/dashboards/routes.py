"""/dashboards: managers' metrics dashboards (charts over /api/v1/metrics, live on Socket.IO)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")
READERS = ("admin", "manager", "designer")


@bp.get("")
@login_required
def index():
    if current_user.role not in READERS:
        return render_template("dashboards/forbidden.html"), 403
    return render_template("dashboards/index.html")
