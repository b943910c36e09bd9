"""Where the files shipped with mailproc are: the notice templates and the commented default
config.

A wheel carries them inside the package (``mailproc/_shipped/``, put there by the build from
the repository's top-level ``templates/`` and ``config/``); an editable install or a source
checkout reads them from those folders directly.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_IN_WHEEL = _PACKAGE / "_shipped"
_SOURCE_TREE = _PACKAGE.parent


def templates_dir() -> Path:
    """The folder of notice templates that comes with this installation of mailproc."""
    packaged = _IN_WHEEL / "templates"
    return packaged if packaged.is_dir() else _SOURCE_TREE / "templates"


def default_config_file() -> Path:
    """The commented default configuration (every option with its default)."""
    packaged = _IN_WHEEL / "mailproc.toml"
    return packaged if packaged.is_file() else _SOURCE_TREE / "config" / "mailproc.toml"
