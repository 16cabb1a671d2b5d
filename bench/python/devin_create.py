"""make bench's Python reference: Devin's create written as a user would write it with boto3, doing the
same DynamoDB work as devin-create-enterprise-organization, in the same two round trips:

1. one BatchGetItem of the caller's credential (by the SHA-256 of its API key), the rate window and, with an
   Idempotency-Key, the key's record (a live record is replayed);
2. one TransactWriteItems: the tenant's counter under its cap, the org, the creator's membership, the
   window's count when the tenant is rate limited, and the idempotency record.

Run by awslambdaric against the bench's local Runtime API, beside the Rust functions. Never deployed: it
is the reference the README's headline compares against, installed into .tools/ by scripts/bench.sh.
"""

import hashlib
import json
import os
import secrets
import time
from datetime import datetime, timezone

import boto3
from botocore.config import Config

# Module level, as Lambda's guide recommends: built once per execution environment, during init.
DYNAMODB = boto3.client(
    "dynamodb",
    config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 3, "mode": "standard"}),
)
TABLE = os.environ.get("ORGMINT_TABLE", "orgmint")
WINDOW_S = 60


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def answer(status, body, replayed=False):
    headers = {"content-type": "application/json"}
    if replayed:
        headers["idempotent-replayed"] = "true"
    return {"statusCode": status, "headers": headers, "body": json.dumps(body)}


def handler(event, context):
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    token = headers.get("authorization", "").removeprefix("Bearer ").strip()
    try:
        body = json.loads(event.get("body") or "")
    except ValueError:
        return answer(422, {"detail": [{"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error"}]})
    if not isinstance(body, dict) or not isinstance(body.get("display_name"), str):
        return answer(422, {"detail": [{"type": "missing", "loc": ["body", "display_name"], "msg": "Field required"}]})
    name, acu_limit = body["display_name"], body.get("acu_limit")
    add_creator = body.get("add_creator_as_member", True) is not False

    now_s = int(time.time())
    digest = sha256(token)
    rate_key = f"devin#{digest}"
    keys = [
        {"pk": {"S": f"CRED#devin#{digest}"}, "sk": {"S": "CRED"}},
        {"pk": {"S": f"RATE#{rate_key}"}, "sk": {"S": f"W#{now_s // WINDOW_S}"}},
    ]
    idem_key = headers.get("idempotency-key")
    idem_id = None
    if idem_key:
        idem_id = sha256(f"devin\n{digest}\n{event['rawPath']}\n{idem_key}")
        keys.append({"pk": {"S": f"IDEM#{idem_id}"}, "sk": {"S": "IDEM"}})
    found = DYNAMODB.batch_get_item(RequestItems={TABLE: {"Keys": keys}})["Responses"].get(TABLE, [])
    items = {(i["pk"]["S"], i["sk"]["S"]): i for i in found}
    cred = items.get((f"CRED#devin#{digest}", "CRED"))
    if cred is None:
        return answer(401, {"detail": "Invalid API key"})
    if cred["role"]["S"] != "enterprise_admin":
        return answer(403, {"detail": "Enterprise admin permissions are required to create organizations"})
    record = items.get((f"IDEM#{idem_id}", "IDEM")) if idem_id else None
    if record is not None and int(record["expires_at"]["N"]) >= now_s:
        return answer(int(record["status"]["N"]), json.loads(record["body"]["S"]), replayed=True)
    limit = int(cred.get("rate_limit", {"N": "0"})["N"])
    window = items.get((f"RATE#{rate_key}", f"W#{now_s // WINDOW_S}"))
    if limit and window is not None and int(window["n"]["N"]) >= limit:
        return answer(429, {"detail": "Too many requests"})

    tenant = cred["tenant"]["S"]
    tenant_pk = f"TENANT#devin#{tenant}"
    org_id = f"org-{secrets.token_hex(16)}"
    members = 1 if add_creator else 0
    doc = {
        "org_id": org_id,
        "org_name": name,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "max_cycle_acu_limit": acu_limit,
        "max_session_acu_limit": None,
        "org_admin_count": members,
        "org_member_count": members,
        "org_user_count": members,
    }
    text = json.dumps(doc)
    writes = [
        {
            "Update": {
                "TableName": TABLE,
                "Key": {"pk": {"S": tenant_pk}, "sk": {"S": "TENANT"}},
                "UpdateExpression": "SET org_count = org_count + :one",
                "ConditionExpression": "attribute_exists(pk) AND org_count < cap",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {
            "Put": {
                "TableName": TABLE,
                "Item": {
                    "pk": {"S": tenant_pk},
                    "sk": {"S": f"ORG#{org_id}"},
                    "type": {"S": "org"},
                    "org_id": {"S": org_id},
                    "name": {"S": name},
                    "created_ms": {"N": str(now_s * 1000)},
                    "doc": {"S": text},
                },
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]
    if add_creator:
        principal = cred["principal"]["S"]
        writes.append(
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {
                        "pk": {"S": f"ORG#devin#{org_id}"},
                        "sk": {"S": f"MEMBER#{principal}"},
                        "type": {"S": "member"},
                        "tenant": {"S": tenant},
                        "org_id": {"S": org_id},
                        "principal": {"S": principal},
                        "role": {"S": "admin"},
                    },
                }
            }
        )
    if limit:
        writes.append(
            {
                "Update": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": f"RATE#{rate_key}"}, "sk": {"S": f"W#{now_s // WINDOW_S}"}},
                    "UpdateExpression": "ADD n :one",
                    "ConditionExpression": "attribute_not_exists(n) OR n < :limit",
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":limit": {"N": str(limit)}},
                }
            }
        )
    if idem_id:
        writes.append(
            {
                "Put": {
                    "TableName": TABLE,
                    "Item": {
                        "pk": {"S": f"IDEM#{idem_id}"},
                        "sk": {"S": "IDEM"},
                        "type": {"S": "idempotency"},
                        "status": {"N": "200"},
                        "body": {"S": text},
                        "expires_at": {"N": str(now_s + 86400)},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
    try:
        DYNAMODB.transact_write_items(TransactItems=writes)
    except DYNAMODB.exceptions.TransactionCanceledException:
        return answer(403, {"detail": "Organization limit reached"})
    return answer(200, doc)
