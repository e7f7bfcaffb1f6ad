"""Procly: low-code process orchestration. The application is built by `app.factory.create_app`;
docs/architecture.md describes the packages and their layers."""
