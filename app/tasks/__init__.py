"""Operations on Tasks for every surface (API, pages, portal, inbound webhooks, the CLI and jobs):
start Tasks, change Fields, act on Stage Runs (`operations`), move Tasks by hand and migrate them to
another Version (`moves`). Each asks app.permissions first and works in the caller's transaction."""
