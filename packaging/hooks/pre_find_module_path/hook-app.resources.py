"""Point PyInstaller at the folder that contains the package app.resources.

pyproject.toml maps app.resources onto the top-level resources/ folder. An editable install
resolves that mapping with an import hook that PyInstaller's module graph does not run. Without
this hook the package is "not found", and its icons are missing from the bundle.
"""

from importlib.resources import files
from pathlib import Path


def pre_find_module_path(api):
    # The parent of the folder that files() resolves: the source root for an editable
    # install, site-packages/app for a regular one. Both contain the package as "resources".
    api.search_dirs = [str(Path(str(files("app.resources"))).parent)]
