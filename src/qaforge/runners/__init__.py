"""Runners drive the stages: ``local`` in this process, ``ray`` on a Ray cluster."""

from __future__ import annotations

from qaforge.errors import RayRunError  # noqa: F401 (re-exported)


