"""Runtime decision core: pure functions that say what should happen to a Task next.

Kept free of the database, Redis, Flask and the clock so every orchestration
rule can be unit-tested on plain data; an I/O shell applies the decisions.
"""
