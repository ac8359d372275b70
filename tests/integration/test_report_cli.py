"""`envcheck report` on fingerprint files as the gpu-matrix workflow downloads them
(`fingerprints/<target>--<runner>.json`): Markdown on stdout and appended to the summary
file, the HTML page, JSON; exit 0, 7 and 2."""

from __future__ import annotations

from pathlib import Path

from envcheck.fingerprint_io import fingerprint_to_json
from tests.integration.conftest import CliRunner
from tests.report_fixtures import matrix_fingerprint

CELLS = [("cu126", "gpu-4090"), ("cu126", "gpu-a100"), ("cu126", "gpu-t4"),
         ("cu130", "gpu-a100")]


def _write(folder: Path, blocking: tuple[str, str] | None = None) -> list[str]:
    folder.mkdir()
    paths = []
    for target, runner in CELLS:
        path = folder / f"{target}--{runner}.json"
        path.write_text(fingerprint_to_json(matrix_fingerprint(
            target, runner, perturb=1e-3 if (target, runner) == blocking else 0.0)))
        paths.append(str(path))
    return paths


def test_a_passing_matrix_exits_0_and_writes_both_files(envcheck_cli: CliRunner,
                                                         tmp_path: Path) -> None:
    paths = _write(tmp_path / "fingerprints")
    summary = tmp_path / "summary.md"
    summary.write_text("# earlier step\n")
    page = tmp_path / "report.html"
    result = envcheck_cli("report", *paths, "--markdown", str(summary), "--html", str(page))
    assert result.returncode == 0, result.stderr
    assert "| cu126 | **reference** | ✅ promote" in result.stdout
    # Appended, as $GITHUB_STEP_SUMMARY expects.
    assert summary.read_text() == "# earlier step\n" + result.stdout
    assert "<svg" in page.read_text()


def test_a_blocking_cell_exits_7(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    paths = _write(tmp_path / "fingerprints", blocking=("cu126", "gpu-t4"))
    result = envcheck_cli("report", *paths, "--json")
    assert result.returncode == 7, result.stderr
    document = result.json()
    assert document["verdict"] == "block"
    assert "envcheck report: cu126 on gpu-t4 blocks: matmul_fp32: output beyond" in (
        result.stderr)


def test_reference_by_runner_or_by_file(envcheck_cli: CliRunner, tmp_path: Path) -> None:
    paths = _write(tmp_path / "fingerprints")
    by_runner = envcheck_cli("report", *paths, "--json", "--reference", "gpu-a100").json()
    by_file = envcheck_cli("report", *paths[:2], paths[3], "--json", "--reference",
                           paths[2]).json()
    assert [t["reference"] for t in by_runner["targets"]] == ["gpu-a100", "gpu-a100"]
    assert [t["reference"] for t in by_file["targets"]] == ["gpu-t4", "gpu-a100"]
    assert by_file["targets"][1]["note"].startswith("no fingerprint of cu130 on gpu-t4")


def test_a_file_that_is_not_a_fingerprint_exits_2_naming_it(envcheck_cli: CliRunner,
                                                             tmp_path: Path) -> None:
    paths = _write(tmp_path / "fingerprints")
    broken = tmp_path / "fingerprints" / "cu128--gpu-t4.json"
    broken.write_text(Path(paths[0]).read_text()[:300])
    result = envcheck_cli("report", *paths, str(broken))
    assert result.returncode == 2
    assert f"{broken} is not JSON (the file looks truncated)" in result.stderr
    unnamed = tmp_path / "fp.json"
    unnamed.write_text(fingerprint_to_json(matrix_fingerprint("cu126", "gpu-t4",
                                                              label_target=False)))
    result = envcheck_cli("report", str(unnamed))
    assert result.returncode == 2
    assert "fp.json: cannot tell which runner took this fingerprint" in result.stderr
