#!/usr/bin/env python3
"""Deploy smoke test on moto (a second implementation of the AWS APIs), on loopback, no AWS account.

1. `python3 -m moto.server` on 127.0.0.1 (a free port).
2. The service packaged offline for stage dev (local/package.ts) into a temporary directory.
3. Deployed the way `osls deploy` does it: the create-stack template (deployment bucket only) ->
   CREATE_COMPLETE; the function zips uploaded to that bucket under their S3Key; the full packaged
   template as a stack update -> UPDATE_COMPLETE. Every resource of the template must be in the stack.
4. The deployed resources are checked through moto's own APIs (table, queues and redrive, alarms, roles).
5. scripts/moto-run-smoke.ts runs one backup with the packaged zips (the local Lambda loader) against
   moto's SQS, DynamoDB and Secrets Manager resources of that stack and the CBR emulator -> COMPLETED.

Exit code 0 only when all of it holds. README "Deploy smoke test on moto" says what moto does not model.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGION = "us-east-1"  # serverless.yml provider.region
STAGE = "dev"
STACK = f"cbr-flow-{STAGE}"
# Resource types moto 5.2's CloudFormation does not create (it accepts the template and skips them); they
# are checked by cfn-lint and test/contract instead. Every other resource must be in the stack.
# (AWS::Lambda::EventInvokeConfig: the async retry/OnFailure settings of start-run and check-status;
# AWS::SQS::QueuePolicy: the schedules DLQ's policy for the checker rule's dead letters.)
NOT_MODELLED = ("AWS::CloudWatch::Alarm", "AWS::ApiGatewayV2::", "AWS::Scheduler::Schedule", "AWS::S3::BucketPolicy",
                "AWS::Lambda::EventInvokeConfig", "AWS::SQS::QueuePolicy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:  # noqa: BLE001 - not up yet
            if time.time() > deadline:
                raise SystemExit(f"moto did not answer on {url}")
            time.sleep(0.2)


def wait_stack(cfn, wanted: str) -> dict:
    for _ in range(600):
        stack = cfn.describe_stacks(StackName=STACK)["Stacks"][0]
        status = stack["StackStatus"]
        if status == wanted:
            return stack
        if status.endswith("_FAILED") or status.endswith("ROLLBACK_COMPLETE"):
            events = cfn.describe_stack_events(StackName=STACK)["StackEvents"]
            failed = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}" for e in events if "FAILED" in e["ResourceStatus"]]
            raise SystemExit(f"stack {status}:\n  " + "\n  ".join(failed[:20]))
        time.sleep(0.2)
    raise SystemExit(f"stack never reached {wanted}")


def check(cond: bool, what: str) -> None:
    print(f"  {'ok ' if cond else 'FAIL'} {what}")
    if not cond:
        raise SystemExit(f"moto smoke: {what}")


def main() -> int:
    work = tempfile.mkdtemp(prefix="cbr-flow-moto-")
    pkg = os.path.join(work, "package")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto_log = open(os.path.join(work, "moto.log"), "w")
    moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=moto_log, stderr=subprocess.STDOUT)
    try:
        wait_http(f"{endpoint}/moto-api/")
        print(f"moto {endpoint}; packaging stage {STAGE} offline")
        subprocess.run(
            ["npx", "tsx", "-e", f"import('./local/package.ts').then((m) => m.packageService(process.cwd(), '{STAGE}', ['--package', '{pkg}'])).catch((e) => {{ console.error(e.message); process.exit(1); }})"],
            cwd=ROOT, check=True,
        )
        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
        client = lambda name: session.client(name, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))  # noqa: E731
        cfn, s3 = client("cloudformation"), client("s3")

        with open(os.path.join(pkg, "cloudformation-template-create-stack.json")) as f:
            create_body = f.read()
        with open(os.path.join(pkg, "cloudformation-template-update-stack.json")) as f:
            update_body = f.read()
        template = json.loads(update_body)

        print("deploy: create-stack (deployment bucket)")
        cfn.create_stack(StackName=STACK, TemplateBody=create_body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
        wait_stack(cfn, "CREATE_COMPLETE")
        check(True, f"{STACK} CREATE_COMPLETE")
        bucket = cfn.describe_stack_resource(StackName=STACK, LogicalResourceId="ServerlessDeploymentBucket")["StackResourceDetail"]["PhysicalResourceId"]

        functions = {k: r for k, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
        for r in functions.values():
            key = r["Properties"]["Code"]["S3Key"]
            s3.upload_file(os.path.join(pkg, os.path.basename(key)), bucket, key)
        print(f"deploy: {len(functions)} zips uploaded to {bucket}; update-stack (the packaged template)")
        cfn.update_stack(StackName=STACK, TemplateBody=update_body, Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"])
        wait_stack(cfn, "UPDATE_COMPLETE")
        check(True, f"{STACK} UPDATE_COMPLETE")

        listed = cfn.describe_stack_resources(StackName=STACK)["StackResources"]
        if os.environ.get("MOTO_SMOKE_DEBUG"):
            print(json.dumps(listed, default=str, indent=1))
        deployed = {r["LogicalResourceId"]: r for r in listed if "LogicalResourceId" in r}
        modelled = {k for k, r in template["Resources"].items() if not r["Type"].startswith(NOT_MODELLED)}
        skipped = len(template["Resources"]) - len(modelled)
        missing = sorted(modelled - set(deployed))
        check(not missing, f"all {len(modelled)} resources of types moto models are in the stack ({skipped} of types it does not: alarms, HTTP API, schedules, bucket policy, async invoke configs, queue policy)" + (f"; missing: {', '.join(missing)}" if missing else ""))
        physical = {k: r.get("PhysicalResourceId", "") for k, r in deployed.items()}
        no_id = sorted(k for k in modelled if not physical.get(k))
        if no_id:
            print(f"  note: moto reports no physical id for {len(no_id)}: {', '.join(no_id)}")

        # What the deployed resources look like through moto's own APIs.
        ddb, sqs, sns, iam, lam, sm = client("dynamodb"), client("sqs"), client("sns"), client("iam"), client("lambda"), client("secretsmanager")
        table = ddb.describe_table(TableName=physical["RunsTable"])["Table"]
        check(table["TableStatus"] == "ACTIVE" and {i["IndexName"] for i in table["GlobalSecondaryIndexes"]} == {"due", "recent"}, f"table {table['TableName']} ACTIVE with GSIs due, recent")
        pitr = ddb.describe_continuous_backups(TableName=physical["RunsTable"])["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        # moto ignores PointInTimeRecoverySpecification and DeletionProtectionEnabled from a template (README).
        print(f"  note: moto shows PITR {pitr}, deletion protection {table.get('DeletionProtectionEnabled', 'absent')} (not modelled from the template)")
        for logical, r in template["Resources"].items():
            if r["Type"] != "AWS::SQS::Queue" or "RedrivePolicy" not in r["Properties"]:
                continue
            attrs = sqs.get_queue_attributes(QueueUrl=physical[logical], AttributeNames=["All"])["Attributes"]
            redrive = json.loads(attrs["RedrivePolicy"])
            check(int(attrs["VisibilityTimeout"]) == int(r["Properties"]["VisibilityTimeout"]) and int(redrive["maxReceiveCount"]) == 5 and redrive["deadLetterTargetArn"].endswith("-dlq"),
                  f"{logical}: visibility {attrs['VisibilityTimeout']} s, redrive to its DLQ after 5")
        topic = sns.get_topic_attributes(TopicArn=physical["AlarmTopic"])["Attributes"]
        check(topic["TopicArn"].endswith(f"cbr-flow-{STAGE}-alarms"), "alarm topic cbr-flow-dev-alarms")
        roles = {r["RoleName"] for r in iam.list_roles()["Roles"]}
        for logical, r in functions.items():
            cfg = lam.get_function(FunctionName=physical[logical])["Configuration"]
            role_logical = r["Properties"]["Role"]["Fn::GetAtt"][0]
            check(cfg["Role"].split("/")[-1] == physical[role_logical] and physical[role_logical] in roles, f"{cfg['FunctionName']}: {cfg['Runtime']}, {cfg['Timeout']} s, own role {role_logical}")
        mappings = lam.list_event_source_mappings()["EventSourceMappings"]
        declared = sum(1 for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::EventSourceMapping")
        check(len(mappings) == declared == 7, f"{len(mappings)} SQS event source mappings (6 step queues + the schedules DLQ)")

        # Secrets the dev stage reads (CBR credentials: the emulator's demo AK/SK; a fresh webhook key).
        demo = json.loads(subprocess.run(["npx", "tsx", "-e", "import('./emulator/index.ts').then((m) => console.log(JSON.stringify({ ak: m.DEMO.ak, sk: m.DEMO.sk })))"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        sm.create_secret(Name=f"cbr-flow/{STAGE}/cbr-credentials", SecretString=json.dumps({"type": "aksk", **demo}))
        sm.create_secret(Name=f"cbr-flow/{STAGE}/webhook-keys", SecretString=json.dumps({"keys": ["whsec_" + __import__("base64").b64encode(os.urandom(32)).decode()]}))

        stack_file = os.path.join(work, "stack.json")
        with open(stack_file, "w") as f:
            json.dump({"endpoint": endpoint, "region": REGION, "stage": STAGE, "packageDir": pkg, "physical": physical}, f)
        print("run: the packaged zips against moto + the CBR emulator")
        run = subprocess.run(["npx", "tsx", "scripts/moto-run-smoke.ts", stack_file], cwd=ROOT)
        return run.returncode
    finally:
        moto.terminate()
        try:
            moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            moto.kill()
        moto_log.close()
        if os.environ.get("KEEP_MOTO_SMOKE"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
