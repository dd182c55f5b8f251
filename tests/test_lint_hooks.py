"""`make lint` and pre-commit run the same checks, and the XML and PO checks catch broken files."""

import os
import pathlib
import re
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEV = ROOT / "tools" / "dev.sh"


def lint_checks():
    """The names `tools/dev.sh lint` reports a failed check by, in its order."""
    script = DEV.read_text()
    block = script[script.index("\n  lint)\n") : script.index("\n    ;;", script.index("\n  lint)\n"))]
    return re.findall(r'failed="\$failed ([\w-]+)"', block)


def hooks():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def test_pre_commit_runs_every_check_of_make_lint_and_no_other():
    assert lint_checks() == ["ruff", "ruff-format", "pylint-odoo", "xml", "po"]
    assert [hook["id"] for hook in hooks()] == lint_checks()


def test_every_hook_goes_through_dev_sh_so_it_uses_the_same_virtualenv_and_settings():
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    script = DEV.read_text()
    for hook in hooks():
        assert hook["language"] == "system"
        command, subcommand = hook["entry"].split()[:2]
        assert command == "tools/dev.sh"
        assert re.search(rf"\n  (\w+\|)*{re.escape(subcommand)}(\|\w+)*\)", script), (
            f"dev.sh has no {subcommand}"
        )
    pylint = next(hook for hook in hooks() if hook["id"] == "pylint-odoo")
    assert pylint["entry"] == "tools/dev.sh pylint clinic_sms" and pylint["pass_filenames"] is False


def dev(*args):
    return subprocess.run(
        ["bash", str(DEV), *args], capture_output=True, text=True, timeout=300, check=False, env=os.environ
    )


def test_the_xml_check_names_a_file_that_is_not_well_formed(tmp_path):
    good, bad = tmp_path / "good.xml", tmp_path / "bad.xml"
    good.write_text('<?xml version="1.0"?>\n<odoo><record id="a" model="res.partner"/></odoo>\n')
    bad.write_text('<odoo><record id="a" model="res.partner"></odoo>\n')
    assert dev("check-xml", str(good)).returncode == 0
    run = dev("check-xml", str(good), str(bad))
    assert run.returncode == 1
    assert f"{bad}: Opening and ending tag mismatch" in run.stdout
    assert str(good) not in run.stdout


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            '#, python-format\nmsgid "%(count)s messages"\nmsgstr "%(antal)s beskeder"\n',
            "a format specification for argument",
        ),
        ('msgid "Reminder"\nmsgstr "Påmindelse"\nmsgid "Reminder"\nmsgstr "Påmindelse"\n', "duplicate"),
    ],
)
def test_the_po_check_refuses_a_broken_translation(tmp_path, entry, problem):
    header = (
        'msgid ""\nmsgstr ""\n"Project-Id-Version: clinic_sms\\n"\n"Language: da\\n"\n'
        '"MIME-Version: 1.0\\n"\n"Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Content-Transfer-Encoding: 8bit\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
    )
    good = tmp_path / "good.po"
    good.write_text(header + 'msgid "Reminder"\nmsgstr "Påmindelse"\n')
    bad = tmp_path / "bad.po"
    bad.write_text(header + entry)
    assert dev("check-po", str(good)).returncode == 0, dev("check-po", str(good)).stderr
    run = dev("check-po", str(good), str(bad))
    assert run.returncode == 1
    assert problem in run.stderr and f"{bad}: msgfmt -c --check-format failed" in run.stderr
