"""The files for running many communities (``deploy/``): the systemd template unit, the
container image's Dockerfile and the Kubernetes CronJob. No image can be built nor cluster
reached here, so each is checked by the tool that reads it: ``systemd-analyze verify``,
dockerfile-parse, and kubernetes-validate (the API's own schemas). And two instances of the
template's layout (a config and a store each) run side by side."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI, build_year_store, missing, write

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNIT = DEPLOY / "anniversary-bot@.service"
KUBERNETES_VERSION = "1.30"  # the CronJob's timeZone is stable from 1.27


def unit_settings(text: str) -> list[tuple[str, str]]:
    return [
        tuple(line.split("=", 1))  # type: ignore[misc]
        for line in text.splitlines()
        if "=" in line and not line.startswith(("#", ";"))
    ]


# --- the systemd template unit ------------------------------------------------------------------


@pytest.mark.processes
def test_the_template_unit_passes_systemd_analyze_verify(tmp_path):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if IN_CI:
            pytest.fail("systemd-analyze is missing (CI=true: required here)", pytrace=False)
        missing("systemd-analyze is not installed: apt-get install systemd")
    # the unit as installed, but starting this checkout's bot (verify checks the binary runs)
    bot = Path(sys.executable).with_name("anniversary-bot")
    text = UNIT.read_text().replace("/opt/anniversary-bot/.venv/bin/anniversary-bot", str(bot))
    write(tmp_path / UNIT.name, text)
    instance = write(tmp_path / "anniversary-bot@example.service", text)
    result = subprocess.run(
        [tool, "verify", str(instance)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    # verify exits 0 on an unknown key or section, with a warning: none is allowed
    assert result.stderr.strip() == "", result.stderr


def test_each_instance_has_its_own_config_store_and_secrets():
    settings = dict(unit_settings(UNIT.read_text()))
    environment = [value for key, value in unit_settings(UNIT.read_text()) if key == "Environment"]
    assert "ANNIVERSARY_BOT_CONFIG=/etc/anniversary-bot/%i/config.yaml" in environment
    assert "ANNIVERSARY_BOT_HOME=/var/lib/anniversary-bot/%i" in environment
    assert settings["EnvironmentFile"] == "-/etc/anniversary-bot/%i/secrets.env"
    assert "--db /var/lib/anniversary-bot/%i/store.db run" in settings["ExecStart"]
    assert settings["StateDirectory"] == "anniversary-bot/%i"
    assert settings["User"] != "root"


@pytest.mark.processes
def test_two_instances_of_the_template_run_once_side_by_side(tmp_path):
    """Each community's config and store where the template unit puts them (``%i`` replaced,
    /etc and /var/lib moved under the test's folder), both started at once with ``run --once``
    as a timer would: each posts its own day to its own outbox, and neither touches the other's
    store."""
    etc, var = tmp_path / "etc", tmp_path / "var"
    settings = unit_settings(UNIT.read_text())
    exec_start = dict(settings)["ExecStart"].split()
    processes = {}
    for community in ("history-club", "space-fans"):

        def placed(text: str, name: str = community) -> str:
            return (
                text.replace("%i", name)
                .replace("/etc/anniversary-bot", str(etc / "anniversary-bot"))
                .replace("/var/lib/anniversary-bot", str(var / "anniversary-bot"))
            )

        env = {key: value for key, value in os.environ.items() if key != "CI"}
        for key, value in settings:
            if key == "Environment":
                name, _, assigned = value.partition("=")
                env[name] = placed(assigned)
        home = Path(env["ANNIVERSARY_BOT_HOME"])  # StateDirectory: systemd makes it
        home.mkdir(parents=True)
        write(
            Path(env["ANNIVERSARY_BOT_CONFIG"]),
            f"timezone: UTC\ndestinations:\n  archive:\n    type: outbox\n"
            f"    path: {home / 'outbox'}\n",
        )
        args = [placed(word) for word in exec_start[1:]]
        build_year_store(Path(args[args.index("--db") + 1]))
        processes[community] = subprocess.Popen(
            [sys.executable, "-m", "bot", *args, "--once"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    for community, process in processes.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        home = var / "anniversary-bot" / community
        assert len(list((home / "outbox").glob("*/*.txt"))) == 1, out
        config = etc / "anniversary-bot" / community / "config.yaml"
        found = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "--db", str(home / "store.db"),
             "history", "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        rows = json.loads(found.stdout)
        assert [row["state"] for row in rows] == ["sent"], found.stderr
        # the unit asks for JSON log lines: whatever was logged is one object a line
        assert all(json.loads(line) for line in err.splitlines() if line.strip()), err


# --- the container image ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile():
    from dockerfile_parse import DockerfileParser

    return DockerfileParser(path=str(DEPLOY / "Dockerfile"))


def instructions(parsed, name: str) -> list[str]:
    return [item["value"] for item in parsed.structure if item["instruction"] == name]


def test_the_image_runs_as_a_user_that_is_not_root(dockerfile):
    (user,) = instructions(dockerfile, "USER")
    assert user.split(":")[0] not in ("root", "0")
    assert dockerfile.structure[-1]["instruction"] in ("CMD", "ENTRYPOINT")
    order = [item["instruction"] for item in dockerfile.structure]
    last_user = len(order) - 1 - order[::-1].index("USER")
    assert "RUN" not in order[last_user:]  # nothing is run as root after it


def test_the_image_starts_the_bot_with_its_store_on_a_volume(dockerfile):
    (entrypoint,) = instructions(dockerfile, "ENTRYPOINT")
    assert json.loads(entrypoint) == ["anniversary-bot"]
    (volume,) = instructions(dockerfile, "VOLUME")
    assert json.loads(volume) == ["/data"]
    assert dockerfile.envs["ANNIVERSARY_BOT_HOME"] == "/data"  # store, outbox and cache there
    assert json.loads(instructions(dockerfile, "CMD")[0]) == ["run"]


def test_the_image_bakes_in_no_secret_and_no_config(dockerfile):
    copied = " ".join(instructions(dockerfile, "COPY") + instructions(dockerfile, "ADD"))
    for name in ("config.yaml", ".env", "secrets", "*.token", "store.db"):
        assert name not in copied, copied
    secret_words = ("TOKEN", "KEY", "SECRET", "PASSWORD", "WEBHOOK")
    for name in list(dockerfile.envs) + [a.split("=")[0] for a in instructions(dockerfile, "ARG")]:
        assert not any(word in name.upper() for word in secret_words), name


# --- the Kubernetes CronJob ---------------------------------------------------------------------


def manifests() -> list[dict]:
    return list(yaml.safe_load_all((DEPLOY / "cronjob.yaml").read_text()))


def test_the_manifest_is_valid_against_the_kubernetes_schemas():
    import kubernetes_validate

    kinds = []
    for manifest in manifests():
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        kinds.append(manifest["kind"])
    assert sorted(kinds) == ["CronJob", "PersistentVolumeClaim"]


def test_the_validation_would_catch_a_mistake():
    import kubernetes_validate

    cronjob = next(m for m in manifests() if m["kind"] == "CronJob")
    cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["comand"] = []
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(cronjob, KUBERNETES_VERSION, strict=True)


def test_the_cronjob_runs_once_per_community_with_its_store_on_the_claim():
    claim = next(m for m in manifests() if m["kind"] == "PersistentVolumeClaim")
    cronjob = next(m for m in manifests() if m["kind"] == "CronJob")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    pod = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["args"] == ["run", "--once"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    store = next(v for v in pod["volumes"] if v["name"] == "store")
    assert store["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "store")
    assert mount["mountPath"] == env["ANNIVERSARY_BOT_HOME"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert "secretRef" in container["envFrom"][0]  # secrets from a Secret, never the image
