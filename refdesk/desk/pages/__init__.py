"""The desk's pages: each module exposes `routes` (Starlette routes) and `NAV = (title, path)`."""
