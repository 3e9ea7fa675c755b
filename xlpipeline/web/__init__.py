"""`xlpipeline web`: a local page for everything the command line does, for people without a
terminal. A front-end only: every page calls `pipeline`, `outputs`, `mail` and `collect` as the
CLI does. `server.serve` starts it on the loopback address; `app.create_app` builds the ASGI app
(Starlette); `guard.Guard` checks every request (Host, token, CSRF's origin, size); `jobs` runs
long work in the background with progress; `state.State` holds what this run of the server made.
"""
