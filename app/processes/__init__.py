"""Processes and their definitions over time: create, change, duplicate, archive (`operations`),
drafts, publishing immutable Versions, diff, rollback, export/import (`versioning`)."""
