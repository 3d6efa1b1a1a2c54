"""The public API is ``qaforge.__all__`` (issue 19 item 10): every name imports, the package
docstring's example works, nothing private leaks, and ``import qaforge`` stays cheap."""

from __future__ import annotations

import inspect
import subprocess
import sys
import types

import qaforge


def test_every_exported_name_imports_and_is_public() -> None:
    namespace: dict[str, object] = {}
    exec("from qaforge import *", namespace)  # what a user's star import gets
    assert sorted(n for n in namespace if n != "__builtins__") == sorted(qaforge.__all__)
    for name in qaforge.__all__:
        value = getattr(qaforge, name)
        assert not name.startswith("_") or name == "__version__"
        if name != "__version__":
            module = getattr(value, "__module__", "")
            assert module.startswith("qaforge."), (name, module)
            assert not any(part.startswith("_") for part in module.split(".")), (name, module)
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_nothing_private_leaks() -> None:
    """Like httpx's test: the public names of the module are exactly ``__all__`` (plus the
    submodules, which are public modules in their own right)."""
    public = {name for name, value in vars(qaforge).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)
              and name != "TYPE_CHECKING"}
    assert public <= set(qaforge.__all__)
    assert {n for n in dir(qaforge) if not n.startswith("_")} - {
        n for n, v in vars(qaforge).items() if isinstance(v, types.ModuleType)} == {
        n for n in qaforge.__all__ if not n.startswith("_")}


def test_the_docstring_promise_and_unknown_names() -> None:
    from qaforge import chunk_document, extract_pdf, load_settings

    assert callable(extract_pdf) and callable(chunk_document) and callable(load_settings)
    assert "from qaforge import" in (qaforge.__doc__ or "")
    try:
        qaforge.no_such_thing  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("unknown attribute did not raise")


def test_import_qaforge_loads_nothing_else() -> None:
    code = ("import sys; import qaforge; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('qaforge', 'pydantic', 'pypdfium2', 'httpx')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "['qaforge']"
