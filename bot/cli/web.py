"""``serve``: the curators' web page."""

from __future__ import annotations

import click

from bot.cli.base import Context, cli, pass_context


@cli.command()
@click.option("--host", help="The address to listen on (default: web.host, 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="The port (default: web.port, 8080; 0: any free one).",
)
@click.option("--hash-password", "hash_only", is_flag=True,
              help="Ask for a password and print its hash for web.users (then exit).")  # fmt: skip
@pass_context
def serve(obj: Context, host: str | None, port: int | None, hash_only: bool) -> None:
    """Serve the web page where curators review the coming days, edit posts and mentions.

    On 127.0.0.1 by default; with users in the config's web: section, a login.

    Example: anniversary-bot serve --port 8080
    """
    if hash_only:
        from bot.web.auth import hash_password

        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        click.echo(hash_password(password))
        return
    from bot.web.server import web_server

    server, address = web_server(obj.config, obj.db_path or obj.config.store, host, port)
    click.echo(f"serving the web page on {address} (Ctrl+C stops it)", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
