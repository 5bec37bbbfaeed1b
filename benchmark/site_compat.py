"""What differs between Datasette 0.65 and Datasette 1.0 (alpha) for the site's plugin, in one place.

The site runs on both lines (issue 12, item 6); ``site_plugin`` asks this module instead of either API:

* :func:`check_view_database` — may ``actor`` see the instance and ``database``? 0.65 has
  ``ensure_permissions(actor, [...])``; 1.0 replaced it with ``ensure_permission(action=, resource=, actor=)``.
  Either raises ``datasette.Forbidden``, which Datasette turns into its 403 page.
* :func:`instance_metadata` — the instance's metadata (title, licence, source) for the footer of our own pages:
  0.65 ``datasette.metadata()``; 1.0 ``await datasette.get_instance_metadata()`` (``metadata()`` is gone).
* :func:`html_lang` — an ASGI wrapper giving 0.65's pages ``<html lang="en">`` (WCAG 3.1.1; axe-core's
  ``html-has-lang``), which 1.0's own ``base.html`` already has. The site keeps no forked ``base.html`` (that
  hid the host's own template on 1.0); its templates extend Datasette's.
* :func:`quiet_expected_errors` — Datasette's own ``handle_exception`` prints every error, a refused statement
  or a bad parameter (400) included, as a ``rich`` traceback with every frame's locals (the whole metadata):
  about 1 s per refused ``?sql=`` (review 8, finding 8). Both lines: with ``rich`` turned off there, 4xx pages are
  answered at once and a bug (500) still prints its plain traceback (``traceback.print_exc``).

How the configuration is passed to each line (``metadata=`` for 0.65; ``config=`` + ``metadata=`` for 1.0) is
``site.datasette_kwargs``.
"""

from __future__ import annotations

from datasette.version import __version__ as DATASETTE_VERSION

try:  # Datasette 1.0: resources name what a permission is about
    from datasette.resources import DatabaseResource
except ImportError:  # Datasette 0.65
    DatabaseResource = None

#: True on the Datasette 1.0 line (alphas included).
ONE_OH = not DATASETTE_VERSION.startswith("0.")


async def check_view_database(datasette, actor: dict | None, database: str) -> None:
    """Raise ``datasette.Forbidden`` unless ``actor`` may view the instance and ``database``."""
    if ONE_OH:
        await datasette.ensure_permission(action="view-instance", actor=actor)
        await datasette.ensure_permission(action="view-database", resource=DatabaseResource(database), actor=actor)
    else:
        await datasette.ensure_permissions(actor, ["view-instance", ("view-database", database)])


async def instance_metadata(datasette) -> dict:
    """The instance-level metadata (``title``, ``license``, ``source``, ``about`` …) as a dict."""
    if ONE_OH:
        return await datasette.get_instance_metadata()
    return datasette.metadata()


def quiet_expected_errors() -> None:
    """Stop Datasette's default ``handle_exception`` printing ``rich`` tracebacks with locals for every error.

    Its page for the error is unchanged; an unexpected error (500) still prints its traceback to the log."""
    # not at module level: it imports datasette.plugins, which loads every plugin (site_plugin, which imports this
    # module, included) when first imported; by the time the site starts they are loaded
    from datasette import handle_exception as datasette_errors  # its default error page (0.65 and 1.0)

    if getattr(datasette_errors, "rich", None) is not None:
        datasette_errors.rich = None


HTML_OPEN = b"<html>"
HTML_OPEN_EN = b'<html lang="en">'


def html_lang(app):
    """``app`` with ``<html>`` at the start of every HTML page answered as ``<html lang="en">`` (0.65 only; on 1.0
    ``app`` itself). Only the first body chunk is looked at; ``content-length`` is corrected when present."""
    if ONE_OH:
        return app

    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        held = None

        async def send_with_lang(message):
            nonlocal held
            if message["type"] == "http.response.start":
                types = [v for k, v in message.get("headers", []) if k.lower() == b"content-type"]
                if types and types[0].startswith(b"text/html"):
                    held = message          # wait for the first chunk of the body
                    return
            elif message["type"] == "http.response.body" and held is not None:
                start, held = held, None
                body = message.get("body", b"")
                at = body.find(HTML_OPEN, 0, 200)     # after <!DOCTYPE html> and any whitespace
                if at >= 0:
                    body = body[:at] + HTML_OPEN_EN + body[at + len(HTML_OPEN):]
                    extra = len(HTML_OPEN_EN) - len(HTML_OPEN)
                    start = {**start, "headers": [
                        (k, str(int(v) + extra).encode() if k.lower() == b"content-length" else v)
                        for k, v in start.get("headers", [])]}
                    message = {**message, "body": body}
                await send(start)
            await send(message)

        await app(scope, receive, send_with_lang)

    return wrapped
