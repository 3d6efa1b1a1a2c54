"""Runners drive the stages: ``local`` in this process, ``ray`` on a Ray cluster."""

from __future__ import annotations


class RayRunError(RuntimeError):
    """A cluster job that failed (a stage raised, a worker died); the message is one line."""
