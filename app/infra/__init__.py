"""Ground-layer infrastructure every layer may use: the transaction boundary of requests
(`transaction`); the after-commit queue of jobs, messages and Events (`queue`); the one door for
outbound HTTP to addresses users typed (`egress`)."""
