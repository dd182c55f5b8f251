"""`tools/dev.sh` on a machine without Odoo: it fetches Odoo 19.0 itself, once, from ODOO_GIT_URL.

The remote is a small local git repository laid out like Odoo's (odoo-bin, odoo/release.py, a 19.0
branch); HOME is a temporary directory, so the real cache is never touched.
"""

import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEV = ROOT / "tools" / "dev.sh"
GIT_ENV = {
    "GIT_AUTHOR_NAME": "clinic_sms tests",
    "GIT_AUTHOR_EMAIL": "tests@clinic-sms.invalid",
    "GIT_COMMITTER_NAME": "clinic_sms tests",
    "GIT_COMMITTER_EMAIL": "tests@clinic-sms.invalid",
}


def git(*args, cwd):
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True)


def make_remote(where, major=19, branch="19.0"):
    """A bare repository whose `branch` holds a tree shaped like Odoo `major`.0, in two commits."""
    work = where / f"odoo-{major}-work"
    (work / "odoo").mkdir(parents=True)
    (work / "addons" / "base_setup").mkdir(parents=True)
    (work / "odoo-bin").write_text("#!/usr/bin/env python3\nprint('not a real Odoo')\n")
    (work / "odoo" / "release.py").write_text(f"version_info = ({major}, 0, 0, 'final', 0, '')\n")
    (work / "requirements.txt").write_text("requests\n")
    (work / "addons" / "base_setup" / "__init__.py").write_text("")
    git("init", "-q", "-b", branch, cwd=work)
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "first", cwd=work)
    (work / "README.md").write_text("second commit, so that a shallow clone has less history\n")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "second", cwd=work)
    bare = where / f"odoo-{major}.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=where)
    return f"file://{bare}"


def dev(home, *args, **env):
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("ODOO_SRC", "ODOO_GIT_URL", "CLINIC_SMS_NO_FETCH", "CLINIC_SMS_ODOO_CACHE", "CI")
    }
    environ.update({"HOME": str(home), "ODOO_SRC": str(home / "no-odoo-here"), **env})
    return subprocess.run(
        ["bash", str(DEV), *args],
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


def test_a_machine_without_odoo_gets_a_shallow_clone_of_19_0_in_the_cache(tmp_path, home):
    url = make_remote(tmp_path)
    run = dev(home, "odoo-path", ODOO_GIT_URL=url)
    assert run.returncode == 0, run.stderr
    cache = home / ".cache" / "clinic_sms" / "odoo"
    assert run.stdout.strip().splitlines()[-1] == str(cache)
    assert "fetching Odoo 19.0" in run.stderr and url in run.stderr
    assert (cache / "odoo-bin").is_file()
    assert (cache / "odoo" / "release.py").read_text().startswith("version_info = (19,")
    assert git("rev-parse", "--is-shallow-repository", cwd=cache).stdout.strip() == "true"
    assert git("rev-list", "--count", "HEAD", cwd=cache).stdout.strip() == "1"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=cache).stdout.strip() == "19.0"
    assert not list(cache.parent.glob("odoo.partial.*")), "no temporary clone is left behind"


def test_the_second_run_uses_the_cache_without_asking_the_remote_again(tmp_path, home):
    url = make_remote(tmp_path)
    assert dev(home, "odoo-path", ODOO_GIT_URL=url).returncode == 0
    run = dev(home, "odoo-path", ODOO_GIT_URL=f"file://{tmp_path}/gone.git")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(home / ".cache" / "clinic_sms" / "odoo")
    assert "fetching" not in run.stderr


def test_no_fetch_keeps_the_clear_error_and_fetches_nothing(tmp_path, home):
    url = make_remote(tmp_path)
    run = dev(home, "odoo-path", ODOO_GIT_URL=url, CLINIC_SMS_NO_FETCH="1")
    assert run.returncode != 0
    assert f"no Odoo 19.0 source tree at ODOO_SRC={home / 'no-odoo-here'}" in run.stderr
    assert "git clone --depth 1 -b 19.0" in run.stderr
    assert not (home / ".cache" / "clinic_sms" / "odoo").exists()


def test_an_odoo_src_that_has_odoo_is_used_as_it_is(tmp_path, home):
    make_remote(tmp_path)
    tree = tmp_path / "odoo-19-work"
    run = dev(home, "odoo-path", ODOO_SRC=str(tree), ODOO_GIT_URL=f"file://{tmp_path}/gone.git")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(tree)
    assert not (home / ".cache" / "clinic_sms").exists()


def test_a_remote_whose_19_0_branch_is_another_odoo_is_refused(tmp_path, home):
    url = make_remote(tmp_path, major=18)
    run = dev(home, "odoo-path", ODOO_GIT_URL=url)
    assert run.returncode != 0
    assert "is Odoo 18, clinic_sms needs Odoo 19.0" in run.stderr


def test_an_unreachable_remote_says_so_and_leaves_nothing_half_done(tmp_path, home):
    run = dev(home, "odoo-path", ODOO_GIT_URL=f"file://{tmp_path}/nothing-here.git")
    assert run.returncode != 0
    assert f"could not clone branch 19.0 of file://{tmp_path}/nothing-here.git" in run.stderr
    cache_dir = home / ".cache" / "clinic_sms"
    assert not (cache_dir / "odoo").exists()
    assert not list(cache_dir.glob("odoo.partial.*"))


def test_a_remote_without_a_19_0_branch_is_refused(tmp_path, home):
    url = make_remote(tmp_path, branch="master")
    run = dev(home, "odoo-path", ODOO_GIT_URL=url)
    assert run.returncode != 0
    assert "could not clone branch 19.0" in run.stderr
