"""`puente` / `python -m hub`: run the hub (migrating the database first)."""

from __future__ import annotations

import argparse
import os

import uvicorn


def main() -> None:
    parser = argparse.ArgumentParser(prog="puente", description="Run the Puente hub.")
    parser.add_argument("--demo", action="store_true", help="seed a demo clinic on first start and print logins")
    parser.add_argument("--host", default=None)
    parser.add_argument("--port", type=int, default=None)
    args = parser.parse_args()
    if args.demo:
        os.environ["PUENTE_SERVER_DEMO"] = "1"
    from hub.settings import load_settings

    settings = load_settings()
    host, port = args.host or settings.server.host, args.port or settings.server.port
    os.environ["PUENTE_PUBLIC_HOST"], os.environ["PUENTE_PUBLIC_PORT"] = host, str(port)
    uvicorn.run(
        "hub.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=os.environ.get("PUENTE_LOG_LEVEL", "info"),
        ws_max_size=65536,
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
