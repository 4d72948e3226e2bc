"""The ``fs`` method: Rocket's FileSystemWorker, serving a directory with no application.

``Rocket(..., method='fs', app_info={'document_root': DIR, 'display_index': bool})`` as in
Rocket 1.2.8. The worker is the WSGI worker running :class:`rocket.static.files.StaticFiles`, so it
gets the same request loop, keep-alive, access log and ``sendfile`` path as every app; the
extra app_info keys ``cache_control``, ``follow_symlinks``, ``show_dotfiles``,
``precompressed`` and ``cache_bytes`` pass through to ``StaticFiles``.
"""

from __future__ import annotations

import os
from typing import Optional

from rocket.static.files import STATIC_OPTIONS, StaticFiles
from rocket.workers.base import WorkerContext
from rocket.workers.wsgi import WSGIWorker

__all__ = ["FileSystemWorker"]


class FileSystemWorker(WSGIWorker):
    """Serves ``app_info['document_root']``; ``display_index`` lists directories."""

    def __init__(self, app_info: Optional[dict], context: Optional[WorkerContext] = None) -> None:
        info = dict(app_info or {})
        root = info.get("document_root")
        if not root:
            raise ValueError("method 'fs' needs app_info['document_root'], the directory to serve")
        if not os.path.isdir(root):
            raise ValueError(f"app_info['document_root'] {root!r} is not a directory")
        options = {key: info[key] for key in STATIC_OPTIONS if key in info}
        options["display_index"] = bool(options.get("display_index", False))
        self.static = StaticFiles(root, **options)
        info["wsgi_app"] = self.static
        super().__init__(info, context)
