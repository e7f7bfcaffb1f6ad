"""The Process definition document (docs/definition.md): its marshmallow schemas, normalization and
content hash (`definition`), conditions in CEL (app.cel) and validation
with every error's JSON path (`validation`). Pure: no database, no Flask request."""
