"""verify's fix never uninstalls envcheck from the environment it runs from."""

from __future__ import annotations

from envcheck.drift import Drift, ExtraPackage, MissingPackage, restore_command
from envcheck.lockfile_model import LockedPackage, Lockfile, LockHeader
from envcheck.services.verify import VerifyResult

LOCK = Lockfile(
    header=LockHeader(schema="envcheck.lock/1", target="app", python="3.11",
                      platform="linux/x86_64", cuda="cpu", resolver="uv",
                      resolver_version="0.13.9", inputs_sha256="0" * 64),
    packages=(LockedPackage(name="numpy", version="2.3.4", hashes=("sha256:" + "1" * 64,)),))


def _result(*extra: str) -> VerifyResult:
    drift = Drift(missing=(MissingPackage(name="numpy", locked="2.3.4"),),
                  extra=tuple(ExtraPackage(name=name, installed="1.0") for name in extra))
    return VerifyResult(lock=LOCK, lock_path="lockfiles/app.txt", executable="/v/bin/python",
                        selected_by="--python", python_version="3.11.7", drift=drift)


def test_envcheck_own_environment_is_not_synced_away() -> None:
    result = _result("envcheck", "typer", "rich")
    assert result.holds_envcheck
    assert result.fix is not None
    assert "sync" not in result.fix
    assert result.fix == ("uv pip install --require-hashes -r lockfiles/app.txt "
                          "--python /v/bin/python")


def test_an_environment_without_envcheck_is_synced_exactly() -> None:
    result = _result("requests")
    assert not result.holds_envcheck
    assert result.fix is not None
    assert result.fix.startswith("uv pip sync lockfiles/app.txt")


def test_restore_command_is_the_one_answer_for_every_caller() -> None:
    result = _result("envcheck")
    assert restore_command("lockfiles/app.txt", result.drift, python="/v/bin/python") == \
        result.fix
