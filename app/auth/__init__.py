"""Authentication (sessions and bearer API tokens), role checks and CSRF, each in one place."""
