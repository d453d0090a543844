"""The deployment files against the README, the settings and the code.

There is no container engine or cluster in the test environment, so the Dockerfile and the
Kubernetes manifest are parsed and checked for what a deployment relies on: the image builds with
the README's command, runs as non-root and exposes the ports the settings use; the manifest's
probes are gRPC health checks on the gRPC port asking for entries the server reports; every
environment variable is a documented setting; secrets come from the Secret the README creates; the
grace period covers the service's drain. The server binary itself shows what the probes get and
that it refuses a non-loopback address without auth.
"""

import os
import re
import shlex
import subprocess

import grpc
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from conftest import binary

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as f:
        return f.read()


# --- parsing -------------------------------------------------------------------------------------


def dockerfile_instructions():
    """(INSTRUCTION, argument) pairs, continuation lines joined, comments dropped."""
    logical, current = [], ""
    for line in read("Dockerfile").splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        current += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if not line.endswith("\\"):
            logical.append(current)
            current = ""
    out = []
    for item in logical:
        instruction, _, argument = item.partition(" ")
        out.append((instruction.upper(), argument.strip()))
    return out


def stages():
    """The Dockerfile's stages: a list of (FROM argument, [(instruction, argument), ...])."""
    result = []
    for instruction, argument in dockerfile_instructions():
        if instruction == "FROM":
            result.append((argument, []))
        else:
            result[-1][1].append((instruction, argument))
    return result


def shell_commands(script):
    """The commands of a shell script or RUN line: joined continuations, split on && and ;."""
    joined = script.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        for part in re.split(r"&&|;", line):
            part = " ".join(part.split())
            if part and not part.startswith("#"):
                commands.append(part)
    return commands


def readme_section(title):
    text = read("README.md")
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert found, f"README has no '## {title}' section"
    return found.group(1)


def deploy_commands():
    blocks = re.findall(r"```sh\n(.*?)```", readme_section("Deploy"), re.S)
    assert blocks, "README's Deploy section shows no commands"
    return [c for block in blocks for c in shell_commands(block)]


def settings_env_names():
    names = set(re.findall(r"^\|\s*`[a-z0-9_]+`\s*\|\s*`(SEGMENTATION_[A-Z0-9_]+)`", read("docs", "settings.md"), re.M))
    assert "SEGMENTATION_DATABASE_URL" in names, "the settings table did not parse"
    return names


def manifest():
    docs = [d for d in yaml.safe_load_all(read("deploy", "kubernetes.yaml")) if d]
    return {d["kind"]: d for d in docs}, [d["kind"] for d in docs]


def container():
    kinds, _ = manifest()
    containers = kinds["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def port_of(addr):
    host, _, port = addr.rpartition(":")
    assert host and port.isdigit(), addr
    return int(port)


def rust_duration_secs(source, name):
    found = re.search(rf"const {name}: Duration = Duration::from_secs\((\d+)\);", source)
    assert found, f"{name} not found"
    return int(found.group(1))


def rust_str_const(source, name):
    found = re.search(rf'const {name}: &str = "([^"]*)";', source)
    assert found, f"{name} not found"
    return found.group(1)


# --- the Dockerfile and the README ---------------------------------------------------------------


def test_the_image_builds_with_the_readmes_command():
    build, runtime = stages()
    assert re.fullmatch(r"rust:1\.95(\.\d+)?(-slim)?(-[a-z]+)? AS build", build[0]), build[0]
    docker_cargo = [c for i, a in build[1] if i == "RUN" for c in shell_commands(a) if c.startswith("cargo ")]
    readme_cargo = [c for c in deploy_commands() if c.startswith("cargo ")]
    assert docker_cargo == ["cargo build --release --locked"], docker_cargo
    assert readme_cargo == docker_cargo
    # The crate asks for the same toolchain the image uses.
    assert re.search(r'^rust-version = "1\.95"$', read("Cargo.toml"), re.M)
    assert re.fullmatch(r"debian:[a-z]+-slim", runtime[0]), runtime[0]


def test_the_runtime_stage_is_the_binary_as_a_non_root_user():
    _, runtime = stages()
    steps = runtime[1]
    copies = [a for i, a in steps if i == "COPY"]
    assert copies == ["--from=build /src/target/release/segmentation /usr/local/bin/segmentation"], copies
    users = [a for i, a in steps if i == "USER"]
    assert len(users) == 1 and users[0].split(":")[0] not in ("0", "root"), users
    entry = [a for i, a in steps if i == "ENTRYPOINT"]
    assert entry == ['["/usr/local/bin/segmentation"]'], entry
    # The image never decides to listen on every interface: only the deployment's settings do.
    assert not [a for i, a in steps if i == "ENV"], "the image sets no settings"
    exposed = sorted(int(p) for i, a in steps if i == "EXPOSE" for p in a.split())
    assert exposed == sorted([c["containerPort"] for c in container()["ports"]])


def test_the_readmes_docker_commands_agree_with_the_image_and_the_settings():
    commands = deploy_commands()
    builds = [shlex.split(c) for c in commands if c.startswith("docker build")]
    assert len(builds) == 1 and builds[0][-1] == "." and builds[0][2] == "-t", builds
    tag = builds[0][3]
    runs = [shlex.split(c, posix=True) for c in commands if c.startswith("docker run")]
    assert len(runs) == 1
    run = runs[0]
    assert run[-1] == tag, "docker run starts the image docker build made"
    env = dict(run[i + 1].split("=", 1) for i, a in enumerate(run) if a == "-e")
    assert set(env) <= settings_env_names(), set(env) - settings_env_names()
    assert env["SEGMENTATION_DATABASE_URL"].startswith("postgres://")
    assert {"SEGMENTATION_AUTH_HS256_SECRET"} & set(env), "published only with auth configured"
    published = {int(run[i + 1].split(":")[1]) for i, a in enumerate(run) if a == "-p"}
    assert published == {port_of(env["SEGMENTATION_GRPC_ADDR"]), port_of(env["SEGMENTATION_REST_ADDR"])}
    assert container()["image"] == tag


def test_the_readmes_kubectl_commands_agree_with_the_manifest():
    commands = deploy_commands()
    applies = [shlex.split(c) for c in commands if c.startswith("kubectl apply")]
    assert applies == [["kubectl", "apply", "-f", "deploy/kubernetes.yaml"]]
    secrets = [shlex.split(c) for c in commands if c.startswith("kubectl create secret generic")]
    assert len(secrets) == 1
    secret_name = secrets[0][4]
    keys = {a.removeprefix("--from-literal=").split("=", 1)[0] for a in secrets[0] if a.startswith("--from-literal=")}
    refs = [e["valueFrom"]["secretKeyRef"] for e in container()["env"] if "valueFrom" in e]
    assert {r["name"] for r in refs} == {secret_name}
    assert {r["key"] for r in refs} == keys


# --- the manifest --------------------------------------------------------------------------------


def test_the_manifest_is_a_deployment_and_a_service():
    kinds, order = manifest()
    assert sorted(order) == ["Deployment", "Service"]
    deployment, service = kinds["Deployment"], kinds["Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    names = {p["name"]: p["containerPort"] for p in container()["ports"]}
    for port in service["spec"]["ports"]:
        assert port["targetPort"] in names, port
        assert port["port"] == names[port["targetPort"]]


def test_the_containers_settings_are_documented_and_secrets_come_from_the_secret():
    env = container()["env"]
    documented = settings_env_names()
    assert {e["name"] for e in env} <= documented, {e["name"] for e in env} - documented
    values = {e["name"]: e.get("value") for e in env}
    from_secret = {e["name"] for e in env if "secretKeyRef" in e.get("valueFrom", {})}
    assert from_secret == {"SEGMENTATION_DATABASE_URL", "SEGMENTATION_AUTH_HS256_SECRET"}
    # Listening on every interface, which the service allows only with auth configured.
    assert values["SEGMENTATION_GRPC_ADDR"].startswith("0.0.0.0:")
    assert values["SEGMENTATION_REST_ADDR"].startswith("0.0.0.0:")
    ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
    assert ports == {"grpc": port_of(values["SEGMENTATION_GRPC_ADDR"]), "http": port_of(values["SEGMENTATION_REST_ADDR"])}


def test_the_probes_are_grpc_health_checks_on_the_grpc_port():
    c = container()
    grpc_port = next(p["containerPort"] for p in c["ports"] if p["name"] == "grpc")
    liveness_entry = rust_str_const(read("src", "health.rs"), "LIVENESS")
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert set(c[probe]) - {"periodSeconds", "failureThreshold", "timeoutSeconds", "initialDelaySeconds"} == {"grpc"}, probe
        assert c[probe]["grpc"]["port"] == grpc_port, probe
    assert c["readinessProbe"]["grpc"].get("service", "") == ""
    assert c["startupProbe"]["grpc"].get("service", "") == ""
    assert c["livenessProbe"]["grpc"]["service"] == liveness_entry


def test_the_grace_period_covers_the_services_drain():
    spec = manifest()[0]["Deployment"]["spec"]["template"]["spec"]
    drain = rust_duration_secs(read("src", "app.rs"), "SHUTDOWN_GRACE")
    assert spec["terminationGracePeriodSeconds"] == drain + 5


def test_the_pod_runs_non_root_read_only_with_resources():
    pod = manifest()[0]["Deployment"]["spec"]["template"]["spec"]
    uid = next(a for i, a in stages()[1][1] if i == "USER").split(":")[0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(uid)
    sc = container()["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"]["drop"] == ["ALL"]
    resources = container()["resources"]
    assert set(resources) == {"requests", "limits"}
    assert set(resources["requests"]) == set(resources["limits"]) == {"cpu", "memory"}


# --- the server behind the probes ----------------------------------------------------------------


def test_the_server_reports_what_the_probes_ask_for(server):
    c = container()
    with grpc.insecure_channel(server.grpc) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            service = c[probe]["grpc"].get("service", "")
            answer = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, probe


def test_every_interface_without_auth_is_refused_before_binding(tmp_path):
    """The manifest's listen addresses without its auth setting: the server refuses to start
    (it checks before binding anything, so this test binds nothing but loopback)."""
    values = {e["name"]: e.get("value") for e in container()["env"]}
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEGMENTATION_")}
    env["SEGMENTATION_GRPC_ADDR"] = values["SEGMENTATION_GRPC_ADDR"]
    env["SEGMENTATION_REST_ADDR"] = "127.0.0.1:0"
    env["SEGMENTATION_DATABASE_URL"] = f"sqlite://{tmp_path}/db.sqlite?mode=rwc"
    done = subprocess.run([binary(), "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "only loopback addresses may be bound" in done.stdout + done.stderr, done.stdout + done.stderr
