"""The visual builder's pages (`routes.py`: the Process list, the lane editor, Split and Table editors)
and who has a draft open (`presence.py`, over Socket.IO). The document they edit: app.definitions;
drafts and Versions: app.processes."""
