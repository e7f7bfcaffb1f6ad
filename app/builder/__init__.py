"""The Process builder: definition document schemas, conditions, validation (stage types: app.stages)."""
