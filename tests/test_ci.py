"""CI integration (issue 15): the workflow, the reusable action and the GitLab example parse, run
only commands that exist, document the inputs they use; the action's script runs here as a runner
would run it; --fail-on gates as documented."""
import os
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from conftest import BPFDIFF, BUILD, ROOT, run, write_case

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
ACTION = ROOT / "ci" / "bpfdiff-action" / "action.yml"
ACTION_SH = ROOT / "ci" / "bpfdiff-action" / "run.sh"
GITLAB = ROOT / "ci" / "gitlab-ci.example.yml"
TINYVM = ROOT / "tests" / "plugin" / "tinyvm.py"
MUTANTS_BIN = BUILD / "bpfdiff-mutants"


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def run_blocks(doc):
    """Every shell text a workflow, action or GitLab job runs."""
    out = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            if k in ("run", "script", "before_script") and isinstance(v, (str, list)):
                out += v if isinstance(v, list) else [v]
            else:
                out += run_blocks(v)
    elif isinstance(doc, list):
        for v in doc:
            out += run_blocks(v)
    return out


@pytest.mark.parametrize("path", [WORKFLOW, ACTION, GITLAB], ids=lambda p: p.name)
def test_ci_files_parse_as_yaml(path):
    doc = load(path)
    assert isinstance(doc, dict) and doc


def test_the_workflow_runs_the_tests_reports_and_fuzzes():
    wf = load(WORKFLOW)
    on = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on:` as true
    assert "schedule" in on and "push" in on and "pull_request" in on
    test, fuzz = wf["jobs"]["test"], wf["jobs"]["fuzz"]
    assert test["env"]["CI"] == "true" and "--privileged" in test["container"]["options"]
    steps = " ".join(run_blocks(test))
    assert ".ci/run" in steps and "GITHUB_STEP_SUMMARY" in steps
    uses = [s.get("uses", "") for s in test["steps"]]
    assert any("junit" in u for u in uses) and any("upload-artifact" in u for u in uses)
    assert "make fuzz" in " ".join(run_blocks(fuzz))
    assert any("upload-artifact" in s.get("uses", "") for s in fuzz["steps"])


def make_targets(text):
    return [m.group(1) for m in re.finditer(r"\bmake\s+(?:-C\s+\S+\s+)?([a-z][\w-]*)", text)]


def test_every_make_target_the_ci_files_run_exists():
    texts = run_blocks(load(WORKFLOW)) + run_blocks(load(GITLAB))
    targets = {t for text in texts for t in make_targets(text)}
    assert {"run", "fuzz"} <= targets, targets
    for t in targets:
        p = subprocess.run(["make", "-n", t], cwd=ROOT, capture_output=True, text=True)
        assert p.returncode == 0 and "No rule to make target" not in p.stderr, (t, p.stderr)
    assert os.access(ROOT / ".ci" / "run", os.X_OK)


def test_every_bpfdiff_option_the_action_passes_exists():
    """The options run.sh gives `bpfdiff run` are the ones `bpfdiff run --help` documents."""
    script = ACTION_SH.read_text()
    assert re.search(r'args=\(run ', script)
    opts = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-q)\b", " ".join(
        line for line in script.splitlines() if "args" in line and "=" in line)))
    assert {"--backend", "--fail-on", "--known", "--json", "--junit", "--markdown"} <= opts, opts
    helptext = run("run", "--help", check=0).stdout
    for o in opts:
        assert re.search(rf"(?<![\w-]){re.escape(o)}\b", helptext), o


def test_the_actions_inputs_are_the_ones_it_uses_and_documents():
    action = load(ACTION)
    inputs = set(action["inputs"])
    step = action["runs"]["steps"][0]
    env = step["env"]
    passed = {re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", v).group(1) for v in env.values()}
    assert passed == inputs, (passed, inputs)
    for name in inputs:
        assert env[f"INPUT_{name.upper().replace('-', '_')}"] == f"${{{{ inputs.{name} }}}}"
    used = set(re.findall(r"INPUT_([A-Z_]+)", ACTION_SH.read_text()))
    assert used == {k[len("INPUT_"):] for k in env}, used
    assert all(action["inputs"][n].get("description") for n in inputs)
    readme = (ROOT / "README.md").read_text()
    ci = readme[readme.index("## Use it in your CI"):]
    ci = ci[:ci.index("\n## ", 1)]
    for name in inputs:
        assert f"`{name}`" in ci, f"README's 'Use it in your CI' does not document input {name}"


def run_action(tmp_path, plugin, suites, **inputs):
    summary = tmp_path / "summary.md"
    summary.write_text("previous step's summary\n")
    env = dict(os.environ, INPUT_PLUGIN=str(plugin), INPUT_SUITES=" ".join(map(str, suites)),
               INPUT_BACKENDS="uvm", INPUT_REPORT_DIR=str(tmp_path / "report"), GITHUB_STEP_SUMMARY=str(summary),
               **{f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    p = subprocess.run([str(ACTION_SH)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    return p, tmp_path / "report", summary


def test_the_action_runs_here_as_a_runner_runs_it(tmp_path):
    good = write_case(tmp_path / "add.data", "-- asm\nmov %r0, 2\nadd %r0, 3\nexit\n-- result\n0x5\n")
    mem = write_case(tmp_path / "mem.data", "-- asm\nldxb %r0, [%r1+1]\nexit\n-- mem\n01 2a\n-- result\n0x2a\n")
    p, report, summary = run_action(tmp_path, TINYVM, [good, mem])
    assert p.returncode == 0, p.stdout + p.stderr
    junit = ET.parse(report / "bpfdiff.xml").getroot()
    assert junit.get("tests") == "4" and junit.get("failures") == "0"
    assert sorted(s.get("name") for s in junit) == ["plugin:" + str(TINYVM), "uvm"]
    md = summary.read_text()
    assert md.startswith("previous step's summary\n## bpfdiff: all green"), md
    assert (report / "bpfdiff.json").exists()


def test_the_action_gates_on_what_fail_on_says(tmp_path, broken_plugin):
    truth = write_case(tmp_path / "add.data", "-- asm\nmov %r0, 2\nadd %r0, 3\nexit\n-- result\n0x5\n")
    p, report, summary = run_action(tmp_path, broken_plugin, [truth], FAIL_ON="discrepancy")
    assert p.returncode == 0, p.stdout + p.stderr  # a missed RFC result is a `fail`, not gated here
    p, report, summary = run_action(tmp_path, broken_plugin, [truth], FAIL_ON="fail")
    assert p.returncode == 1
    junit = ET.parse(report / "bpfdiff.xml").getroot()
    failed = {s.get("name"): s.find("testcase").find("failure") is not None for s in junit}
    assert failed == {"uvm": False, f"plugin:{broken_plugin}": True}, failed  # the plugin deviated, not uvm
    md = summary.read_text()
    assert "**fail**" in md and "bpfdiff run -v -b" in md and str(truth) in md, md
    free = write_case(tmp_path / "free.data", "-- asm\nmov %r0, 41\nexit\n")  # no RFC result: a discrepancy
    p, report, summary = run_action(tmp_path, broken_plugin, [free], FAIL_ON="discrepancy")
    assert p.returncode == 1


def test_the_action_refuses_a_missing_plugin(tmp_path):
    p, report, summary = run_action(tmp_path, tmp_path / "nosuch", [ROOT / "conformance"])
    assert p.returncode == 2 and "not an executable" in p.stderr


@pytest.fixture
def verdict_cases(tmp_path):
    """One case per gate: a missed RFC result, a disagreement with no RFC result to decide, a case
    nothing here can run (skipped), and a clean pass."""
    return {
        "fail": write_case(tmp_path / "fail.data", "-- asm\nmov %r0, -1\nadd32 %r0, 0\nexit\n-- result\n0xffffffff\n"),
        "discrepancy": write_case(tmp_path / "disc.data", "-- asm\nmov %r0, -1\nadd32 %r0, 0\nexit\n"),
        "skipped": write_case(tmp_path / "skip.data", "-- asm\ncall 26\nexit\n"),  # a helper bpfdiff does not model
        "pass": write_case(tmp_path / "pass.data", "-- asm\nmov %r0, 3\nexit\n-- result\n0x3\n"),
    }


@pytest.mark.parametrize("fail_on,expect", [
    ("discrepancy", {"fail": 0, "discrepancy": 1, "skipped": 0, "pass": 0}),
    ("fail", {"fail": 1, "discrepancy": 1, "skipped": 0, "pass": 0}),
    ("any", {"fail": 1, "discrepancy": 1, "skipped": 1, "pass": 0}),
])
def test_fail_on(verdict_cases, fail_on, expect):
    for kind, case in verdict_cases.items():
        p = run("run", "--no-known", "--backend", "uvm,uvm:alu32-no-zext", "--fail-on", fail_on, case,
                binary=MUTANTS_BIN)
        assert p.returncode == expect[kind], (kind, p.stdout)


def test_fail_on_rejects_other_values():
    p = run("run", "--fail-on", "some", ROOT / "conformance", check=2)
    assert "--fail-on takes discrepancy, fail or any" in p.stderr


def test_replay_default_still_fails_unexplained_refusals(verdict_cases):
    p = run("replay", "--no-known", "--backend", "uvm", verdict_cases["skipped"], check=1)
    p = run("replay", "--no-known", "--backend", "uvm", "--fail-on", "discrepancy", verdict_cases["skipped"],
            check=0)
