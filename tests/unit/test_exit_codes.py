"""Every envcheck error maps to a documented exit code other than "a bug in envcheck"."""

from __future__ import annotations

import importlib
import pkgutil

import envcheck
from envcheck.errors import EnvcheckError, ExitCode


def _all_subclasses(cls: type[EnvcheckError]) -> list[type[EnvcheckError]]:
    found: list[type[EnvcheckError]] = []
    for sub in cls.__subclasses__():
        found += [sub, *_all_subclasses(sub)]
    return found


def test_no_envcheck_error_exits_as_a_bug() -> None:
    for module in pkgutil.walk_packages(envcheck.__path__, "envcheck."):
        if ".probe." not in module.name:  # the probe scripts run inside target interpreters
            importlib.import_module(module.name)
    classes: list[type[EnvcheckError]] = [EnvcheckError, *_all_subclasses(EnvcheckError)]
    assert len(classes) > 10
    for cls in classes:
        assert cls.exit_code != ExitCode.INTERNAL, cls
