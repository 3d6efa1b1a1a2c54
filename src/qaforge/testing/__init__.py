"""Helpers for testing code that uses qaforge: a loopback OpenAI-compatible server."""

from qaforge.testing.openai_server import FakeOpenAIServer

__all__ = ["FakeOpenAIServer"]
