"""Procly's vocabulary, written once (ground layer, no database, no Flask): statuses and their named
groups (`statuses`), role references (`refs`), durations (`durations`)."""
