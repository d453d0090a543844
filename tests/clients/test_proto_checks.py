"""scripts/proto-checks catches what it is for: run in a scratch git repository holding a copy of
the contract, an accidental breaking change fails, the same change recorded in proto/CHANGELOG.md
passes, a compatible change passes, and a lint violation fails. (scripts/client-tests runs the
script itself on this repository before pytest.)"""

import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUF = REPO / "tests" / "clients" / "node" / "node_modules" / ".bin" / "buf"
JOBS = pathlib.Path("proto/segmentation/v1/segment_jobs.proto")


def git(repo, *args):
    subprocess.run(["git", "-c", "user.name=client tests", "-c", "user.email=tests@localhost",
                    *args], cwd=repo, check=True, capture_output=True, text=True)


def checks(repo, *args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SEGMENTATION_PROTO_BASE", "GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")}
    done = subprocess.run(["bash", "scripts/proto-checks", *args], cwd=repo, capture_output=True,
                          text=True, timeout=120, env={**env, "BUF": str(BUF)})
    return done.returncode, done.stdout + done.stderr


@pytest.fixture
def repo(tmp_path):
    if not BUF.exists():
        pytest.fail("buf is missing; run through scripts/client-tests (npm ci installs it)")
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "proto-checks", tmp_path / "scripts")
    shutil.copy(REPO / "buf.yaml", tmp_path)
    shutil.copytree(REPO / "proto", tmp_path / "proto")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "the contract")
    return tmp_path


def edit(repo, path, old, new):
    text = (repo / path).read_text()
    assert old in text
    (repo / path).write_text(text.replace(old, new))


def commit(repo, message):
    git(repo, "commit", "-q", "-am", message)


def test_the_first_commit_has_nothing_to_compare_and_says_so(repo):
    code, out = checks(repo)
    assert code == 0, out
    assert "buf lint: clean" in out
    assert "SKIPPED, HEAD is the repository's first commit" in out


def test_an_accidental_breaking_change_fails(repo):
    edit(repo, JOBS, "string property_filter = 5;", "string property = 5;")
    commit(repo, "rename a field")
    code, out = checks(repo)
    assert code == 1, out
    assert 'changed name from "property_filter" to "property"' in out
    assert "record it in proto/CHANGELOG.md" in out


def test_a_breaking_change_recorded_in_the_changelog_passes(repo):
    edit(repo, JOBS, "string property_filter = 5;", "string property = 5;")
    edit(repo, "proto/CHANGELOG.md", "## Unreleased\n",
         "## Unreleased\n\n- BREAKING: `ListSegmentJobsRequest.property_filter` is `property`.\n")
    commit(repo, "rename a field, on purpose")
    code, out = checks(repo)
    assert code == 0, out
    assert "the breaking changes above are intended" in out
    # The entry allows that change only: the next commit compares with this one again.
    edit(repo, JOBS, "string order_by = 4;\n  // AEP's", "string sort = 4;\n  // AEP's")
    commit(repo, "another rename")
    code, out = checks(repo)
    assert code == 1, out


def test_a_compatible_change_passes(repo):
    edit(repo, JOBS, "  string property_filter = 5;\n}",
         "  string property_filter = 5;\n  // Only jobs created by this source.\n  string source = 6;\n}")
    commit(repo, "a new field")
    code, out = checks(repo)
    assert code == 0, out
    assert "no breaking change since HEAD~1" in out


def test_a_lint_violation_fails(repo):
    edit(repo, JOBS, "string property_filter = 5;", "string propertyFilter = 5;")
    code, out = checks(repo)
    assert code != 0, out
    assert "lower_snake_case" in out, out
