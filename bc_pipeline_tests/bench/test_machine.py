"""The results name the commit measured, and say so when the tree differs from it in anything but earlier results."""

import subprocess

from bench.machine import git_revision


def _git(root, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=root, check=True,
                   capture_output=True)


def test_earlier_results_do_not_mark_the_tree_changed_but_code_does(tmp_path):
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "results.md").write_text("first run\n")
    (tmp_path / "bench" / "report.py").write_text("WHY = {}\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-q", "-m", "start")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tmp_path, capture_output=True,
                            text=True).stdout.strip()

    (tmp_path / "bench" / "results.md").write_text("the default run, just written\n")
    (tmp_path / "bench" / "results-large.md").write_text("the larger run, just written\n")
    assert git_revision(tmp_path) == commit

    (tmp_path / "bench" / "report.py").write_text("WHY = {'rss': 'changed'}\n")
    assert git_revision(tmp_path) == f"{commit} + uncommitted changes"
