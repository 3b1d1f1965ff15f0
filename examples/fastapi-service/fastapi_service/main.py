"""A FastAPI app with a health endpoint, served by uvicorn."""

from __future__ import annotations

import os
from importlib.metadata import version

from fastapi import FastAPI

app = FastAPI(title="fastapi-service")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "version": version("fastapi-service")}


def run() -> None:
    import uvicorn

    uvicorn.run(app, host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8000")))
