"""Tables and Fields: typed values, validation of a Task's row, table editing operations."""
