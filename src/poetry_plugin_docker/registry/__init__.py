"""A small client for OCI/Docker registries (distribution spec v1.1, Docker Registry HTTP API v2).

`registry.client` talks to a registry over HTTP(S) with `requests` (imported only there);
`registry.credentials` reads the credentials Docker would use (config.json and credential helpers).
"""
