"""An S3 + IAM + STS emulator (moto's server) on 127.0.0.1 for the S3 tests,
set up as Terraform would: a bucket, a pipeline role with the policy rendered
from terraform/'s template, and a user that may only assume that role.

Also a TCP proxy that can cut the network mid-transfer, to put faults
between lfhost and the emulator without losing the emulator's state."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import boto3
import pyarrow as pa
from botocore.config import Config

import helpers

REPO = Path(__file__).resolve().parents[2]
POLICY_TEMPLATE = REPO / "terraform" / "modules" / "lfhost" / "policies" / "pipeline-access.json.tftpl"
ACCOUNT = "123456789012"  # moto's default account
REGION = "us-east-1"
# Requests moto serves before it enforces IAM: enough to make an admin.
BOOTSTRAP_REQUESTS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_policy(bucket: str, landing_prefix: str, lake_prefix: str, kms_key_arn: str) -> str:
    """The deployed policy: terraform/'s template with Terraform's variables."""
    text = POLICY_TEMPLATE.read_text()
    values = {
        "partition": "aws",
        "bucket": bucket,
        "landing_prefix": landing_prefix,
        "lake_prefix": lake_prefix,
        "kms_key_arn": kms_key_arn,
    }
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    assert "${" not in text, f"unrendered variable left in {POLICY_TEMPLATE}"
    json.loads(text)
    return text


@dataclass
class Keys:
    key_id: str
    secret: str


class Emulator:
    """moto_server with IAM enforced, and an admin key to set it up."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ, INITIAL_NO_AUTH_ACTION_COUNT=str(BOOTSTRAP_REQUESTS))
        server = Path(sys.executable).with_name("moto_server")
        self.log = open(workdir / "moto.log", "w")
        self.process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        self._wait_until_up()
        iam = self.client("iam", Keys("bootstrap", "bootstrap"))
        iam.create_user(UserName="admin")
        everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        iam.put_user_policy(UserName="admin", PolicyName="admin", PolicyDocument=json.dumps(everything))
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        self.admin = Keys(key["AccessKeyId"], key["SecretAccessKey"])

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto_server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not start within 30 s")

    def client(self, service: str, keys: Keys | None = None):
        keys = keys or self.admin
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=keys.key_id,
            aws_secret_access_key=keys.secret,
            config=Config(retries={"max_attempts": 1}),
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@dataclass
class Tenant:
    bucket: str
    landing_prefix: str
    lake_prefix: str
    role_arn: str
    runner: Keys


def provision(emulator: Emulator, bucket: str, landing_prefix: str, lake_prefix: str) -> Tenant:
    """What terraform/ makes: the bucket, a role with the rendered policy,
    and a runner identity allowed only to assume that role."""
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=bucket)
    iam = emulator.client("iam")
    kms_key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000"
    policy = iam.create_policy(
        PolicyName="lfhost-pipeline-access",
        PolicyDocument=render_policy(bucket, landing_prefix, lake_prefix, kms_key_arn),
    )["Policy"]["Arn"]
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/runner"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName="lfhost-pipeline", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.attach_role_policy(RoleName="lfhost-pipeline", PolicyArn=policy)
    iam.create_user(UserName="runner")
    may_assume = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}],
    }
    iam.put_user_policy(UserName="runner", PolicyName="assume-lfhost", PolicyDocument=json.dumps(may_assume))
    key = iam.create_access_key(UserName="runner")["AccessKey"]
    return Tenant(bucket, landing_prefix, lake_prefix, role, Keys(key["AccessKeyId"], key["SecretAccessKey"]))


def upload_tree(emulator: Emulator, root: Path, bucket: str, prefix: str) -> int:
    s3 = emulator.client("s3")
    count = 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(root).as_posix()}")
            count += 1
    return count


class FaultyProxy:
    """Forwards 127.0.0.1:<port> to the emulator until told to cut: then it
    drops every connection and refuses new ones until restored."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.lock = threading.Lock()
        self.sent = 0  # bytes from clients to the emulator
        self.cut_at: int | None = None
        self.down = False
        self.open: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_after(self, upload_bytes: int) -> None:
        with self.lock:
            self.sent = 0
            self.cut_at = upload_bytes

    def restore(self) -> None:
        with self.lock:
            self.cut_at = None
            self.down = False

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        self._drop_all()

    def _drop_all(self) -> None:
        with self.lock:
            sockets, self.open = self.open, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, upload: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if upload:
                    with self.lock:
                        self.sent += len(data)
                        trip = self.cut_at is not None and self.sent >= self.cut_at
                        if trip:
                            self.down = True
                    if trip:
                        self._drop_all()
                        return
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


# ------------------------------------------- the seed pipeline on S3 --


def pipeline_text(storage_extra: str = "") -> str:
    """The seed pipeline, plugins by absolute path, with a [storage] table."""
    text = (REPO / "pipelines.toml").read_text()
    text = text.replace('"target/wasm32-wasip2/release/', f'"{REPO}/target/wasm32-wasip2/release/')
    storage = (
        "[storage]\n"
        f'region = "{REGION}"\n'
        'endpoint = "${s3_endpoint}"\n'
        "allow_http = true\n"
        'role_arn = "${role_arn}"\n' + storage_extra + "\n"
    )
    text = text.replace("[vars]\n", storage + '[vars]\ns3_endpoint = ""\nrole_arn = ""\n', 1)
    return text


def runner_env(lfhost_env: dict, keys: Keys) -> dict:
    env = {k: v for k, v in lfhost_env.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID=keys.key_id, AWS_SECRET_ACCESS_KEY=keys.secret, AWS_REGION=REGION)
    return env


def storage_options(emulator: Emulator) -> dict:
    return {
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": emulator.admin.key_id,
        "AWS_SECRET_ACCESS_KEY": emulator.admin.secret,
        "AWS_REGION": REGION,
    }


def comparable(table: pa.Table, landing_root: str) -> list[dict]:
    """Rows without the run's timestamp, with source files relative to the
    landing root (a URI on S3, a path locally)."""
    rows = helpers.table_rows(table)
    for row in rows:
        row.pop("_ingested_at", None)
        if row.get("_source_file"):
            row["_source_file"] = row["_source_file"].removeprefix(landing_root).lstrip("/")
    return rows
