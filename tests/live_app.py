"""Serve `create_app(overrides)` over HTTP in a process of its own, for tests that stop what the app
depends on (Redis, the database) and watch what a client gets: the extensions are process-wide, so
a second app with other settings cannot share the test process.

Run from the repository root: `python -m tests.live_app` with the overrides as JSON in
PROCLY_TEST_OVERRIDES. Prints the port once it listens."""
import json
import os

from werkzeug.serving import make_server

from app.factory import create_app

app = create_app(json.loads(os.environ["PROCLY_TEST_OVERRIDES"]))
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
