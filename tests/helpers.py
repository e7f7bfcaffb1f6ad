"""Small helpers shared by tests."""
import re


def csrf_from(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)


def csrf(client) -> str:
    """The CSRF token of the client's session, read from a signed-in page."""
    return csrf_from(client.get("/queue").get_data(as_text=True))
