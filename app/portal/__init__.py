"""The participant portal: magic links into one Task, status and action Stages, external threads.
`links.py` holds the magic links, `routes.py` the pages."""
from app.portal import bookings as _bookings  # noqa: F401  (its routes join the blueprint)
from app.portal import files as _files  # noqa: F401  (adds the file routes to the blueprint)
from app.portal import conversations as _conversations  # noqa: F401  (answering an email conversation)
from app.portal import intake as _intake  # noqa: F401  (the public intake forms)
from app.portal.routes import bp


def init_app(app) -> None:
    app.register_blueprint(bp)
