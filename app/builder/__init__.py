"""The Process builder: definition document schemas, stage types, conditions, validation."""
