"""The one exception tree: every public error is a QaforgeError, and the ones a user can fix
are UserErrors, so the CLI turns each into one line instead of a traceback."""

from __future__ import annotations

import inspect

import qaforge.errors as errors
from qaforge.errors import QaforgeError, RequestError, UserError


def test_every_public_error_is_in_the_tree() -> None:
    classes = [obj for name, obj in vars(errors).items()
               if inspect.isclass(obj) and issubclass(obj, BaseException)
               and obj.__module__ == errors.__name__]
    assert sorted(c.__name__ for c in classes) == sorted(errors.__all__)
    for cls in classes:
        assert issubclass(cls, QaforgeError), cls
        if cls not in (QaforgeError, RequestError):
            assert issubclass(cls, UserError), cls


def test_old_import_paths_name_the_same_classes() -> None:
    from qaforge.config import ConfigError
    from qaforge.extract import ExtractionError
    from qaforge.fileio import JsonFileError
    from qaforge.llm.base import BackendUnavailable, LLMError
    from qaforge.suggestions import StaleRevisionError

    assert ConfigError is errors.ConfigError and issubclass(ConfigError, ValueError)
    assert ExtractionError is errors.ExtractionError
    assert JsonFileError is errors.JsonFileError
    assert LLMError is errors.LLMError and BackendUnavailable is errors.BackendUnavailable
    assert StaleRevisionError is errors.StaleRevisionError


def test_every_exception_qaforge_defines_is_a_qaforge_error() -> None:
    import pkgutil

    import qaforge

    for info in pkgutil.walk_packages(qaforge.__path__, "qaforge."):
        if info.name == "qaforge.errors" or info.name.startswith(("qaforge.runners.ray",
                                                                  "qaforge.llm.hf")):
            continue  # optional extras (importing them needs ray / torch)
        module = __import__(info.name, fromlist=["_"])
        for name, obj in vars(module).items():
            if (inspect.isclass(obj) and issubclass(obj, Exception)
                    and obj.__module__ == info.name and not name.startswith("_")):
                assert issubclass(obj, QaforgeError), f"{info.name}.{name}"
