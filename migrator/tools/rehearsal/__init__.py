"""Throwaway servers for ``rehearse``: one interface, a ``local`` and a ``docker`` backend.

``get_backend("docker", image=default_image_for("mysql", (5, 6)))`` gives a server like
production's; ``get_backend("local")`` one from the installed mariadbd. See
docs/rehearsal-backends.md.
"""
from .backends import BACKEND_NAMES, TEST_IMAGE, Backend, default_image_for, get_backend

__all__ = ["BACKEND_NAMES", "TEST_IMAGE", "Backend", "default_image_for", "get_backend"]
