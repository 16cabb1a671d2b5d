#!/usr/bin/env python3
"""Offline consistency check between infra/template.yaml and the code (run by scripts/lint-infra.sh).

It fails when the template and the workspace disagree:
- every route of Cargo.toml's [workspace.metadata.lambda.watch.router] has exactly one HttpApi event in the
  template, with the same method and path, on the function whose BuildProperties.Binary is the route's
  function; and the template has no route the router lacks;
- every function crate under functions/ has exactly one template function building it, and every template
  function builds a crate under functions/ that is a workspace member;
- every function is provided.al2023 / arm64 / bootstrap / rust-cargolambda from the workspace root (set in
  Globals or on the function), reads ORGMINT_TABLE = the table, has
  a role and a log group with retention of the template (set in Globals or on the function), and alarms on
  its Errors and Throttles (alone or in an alarm's metric math) and on its own CapReached, Latency and
  ServerErrors (the EMF namespace of shared/src/telemetry.rs, dimension function);
- the DynamoDB actions a role allows, from every policy it has (inline, the template's managed policies,
  any policy naming the role; no policy from outside the template), are exactly the ones its functions'
  code performs, limited to the leading keys `<PREFIX>#${aws:PrincipalTag/orgmint-vendor}#*` of every key
  prefix the store formats, and the role's tag `orgmint-vendor` is its crate's `Endpoint::VENDOR` (read from the sources: see SDK_OPERATIONS), on the table only, and the role is
  denied every DynamoDB action on SECRET#* leading keys (tenant secrets are for the admin CLI only);
- the table has the key schema, attribute types, billing mode, TTL attribute and (no) indexes that
  `orgmint table create` makes: read from Store::create_table in shared/src/store/.

A self-test then proves on altered copies that the check catches a missing route, a missing function, an
extra IAM action (inline or in the shared policy), a missing secrets Deny, an AWS managed policy, code that
needs a new action, a skip without a reason and a schema drift. Needs PyYAML (in the project venv, with
aws-sam-cli) and Python 3.11+.
"""

import copy
import re
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# The DynamoDB actions a function performs are read from the code: the shared functions its crate calls
# (with shared/src/lambda.rs, whose `run` every main.rs goes through, e.g. Store::prime), followed through
# the shared crate's own calls, and the SDK operations and transaction items in their bodies. A
# TransactWriteItems has no IAM action of its own: each of its items is authorised as its kind (Put ->
# PutItem, Update -> UpdateItem, Delete -> DeleteItem, ConditionCheck -> ConditionCheckItem). Each role must
# allow exactly these actions, on the table only, whichever of its policies allows them.
SDK_OPERATIONS = {
    r"\.get_item\(\)": "dynamodb:GetItem",
    r"\.batch_get_item\(\)": "dynamodb:BatchGetItem",
    r"\.batch_write_item\(\)": "dynamodb:BatchWriteItem",
    r"\.put_item\(\)": "dynamodb:PutItem",
    r"\.update_item\(\)": "dynamodb:UpdateItem",
    r"\.delete_item\(\)": "dynamodb:DeleteItem",
    r"\.query\(\)": "dynamodb:Query",
    r"\.scan\(\)": "dynamodb:Scan",
    r"\.transact_get_items\(\)": "dynamodb:GetItem",
    r"\bGet::builder\(\)": "dynamodb:GetItem",
    r"\bPut::builder\(\)": "dynamodb:PutItem",
    r"\bUpdate::builder\(\)": "dynamodb:UpdateItem",
    r"\bDelete::builder\(\)": "dynamodb:DeleteItem",
    r"\bConditionCheck::builder\(\)": "dynamodb:ConditionCheckItem",
    r"\.create_table\(\)": "dynamodb:CreateTable",
    r"\.update_time_to_live\(\)": "dynamodb:UpdateTimeToLive",
    r"\.describe_table\(\)": "dynamodb:DescribeTable",
    r"\.delete_table\(\)": "dynamodb:DeleteTable",
}

# Tenant secrets (shared/src/store/keys.rs) live under these leading keys, which no function may touch.
SECRET_KEYS = "SECRET#*"
# Every other partition key starts with `<PREFIX>#<vendor>#`: each function's role carries its vendor in this
# tag, and the shared policy limits the leading keys to that vendor's by `${aws:PrincipalTag/...}`.
VENDOR_TAG = "orgmint-vendor"
# The functions' own metrics (shared/src/telemetry.rs) that an alarm must watch for every function.
EMF_ALARMED = ("CapReached", "Latency", "ServerErrors")
VENDOR = re.compile(r"const VENDOR: Vendor = Vendor::(\w+);")
# Partition keys as the store formats them: `("pk", s(format!("CRED#…")))`, `.key("pk", s(format!(…)))`, and
# the `fn …_pk(…) -> String { format!("TENANT#…") }` helpers.
KEY_PREFIX = re.compile(r'"pk"(?:\.to_owned\(\))?,\s*s\(format!\("([A-Z]+)#|fn \w+_pk\([^)]*\)[^{]*\{\s*format!\("([A-Z]+)#')

RUST_BILLING = {"PayPerRequest": "PAY_PER_REQUEST", "Provisioned": "PROVISIONED"}
RUST_KEY_TYPE = {"Hash": "HASH", "Range": "RANGE"}


# ---- inputs -----------------------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags: `!Ref X` -> {"Ref": X}, `!GetAtt A.B` -> {"Fn::GetAtt": [A, B]}."""


def _tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _tag)


def load_inputs():
    template = yaml.load((ROOT / "infra/template.yaml").read_text(), Loader=CfnLoader)
    cargo = tomllib.loads((ROOT / "Cargo.toml").read_text())
    # Function crates (a binary each) and the libraries they share under functions/ (the dialects): a
    # function's code is its own and that of every crate under functions/ it depends on.
    crates, libraries, uses = {}, {}, {}
    for manifest in sorted((ROOT / "functions").glob("*/Cargo.toml")):
        toml = tomllib.loads(manifest.read_text())
        package, folder = toml["package"]["name"], manifest.parent.relative_to(ROOT).as_posix()
        (crates if (manifest.parent / "src/main.rs").exists() else libraries)[package] = folder
        uses[package] = set(toml.get("dependencies", {}))
    store = "\n".join(p.read_text() for p in sorted((ROOT / "shared/src/store").glob("*.rs")))
    shared_fns = {}
    for path in sorted((ROOT / "shared/src").rglob("*.rs")):
        for name, bodies in rust_functions(strip_rust(path.read_text())).items():
            shared_fns.setdefault(name, []).extend(bodies)
    src_of = lambda folder: "\n".join(strip_rust(p.read_text()) for p in sorted((ROOT / folder / "src").rglob("*.rs")))
    folders = {**crates, **libraries}

    def closure(name):  # the crate and every crate under functions/ it depends on, transitively
        seen, todo = set(), [name]
        while todo:
            crate = todo.pop()
            if crate not in seen:
                seen.add(crate)
                todo.extend(uses[crate] & set(folders))
        return sorted(seen)

    crate_src = {name: "\n".join(src_of(folders[dep]) for dep in closure(name)) for name in crates}
    # The partition-key prefixes the store formats (`TENANT#{…}`, `CRED#{…}`, …), secrets aside.
    key_prefixes = sorted({a or b for a, b in KEY_PREFIX.findall(store)} - {SECRET_KEYS.split("#")[0]})
    namespace = re.search(r'pub const NAMESPACE: &str = "([^"]+)"', (ROOT / "shared/src/telemetry.rs").read_text())
    code = {"shared_fns": shared_fns, "crate_src": crate_src, "key_prefixes": key_prefixes,
            "namespace": namespace and namespace.group(1)}
    return template, cargo, crates, store, code


def schema_from_store(src):
    """The table `Store::create_table` makes, read from its source; None where the source cannot be read."""
    m = re.search(r"pub async fn create_table\b.*?\n    }\n", src, re.S)
    if not m:
        return None
    body = m.group(0)
    ttl = re.search(r'const TTL_ATTRIBUTE: &str = "([^"]+)"', src)
    billing = re.search(r"\.billing_mode\(BillingMode::(\w+)\)", body)
    types = set(re.findall(r"ScalarAttributeType::(\w)\b", body))
    return {
        "keys": [(n, RUST_KEY_TYPE.get(t, t)) for n, t in re.findall(r'\.key_schema\(key\("(\w+)", KeyType::(\w+)\)\)', body)],
        "attributes": {n: "".join(sorted(types)) for n in re.findall(r'\.attribute_definitions\(attr\("(\w+)"\)\)', body)},
        "billing": RUST_BILLING.get(billing.group(1), billing.group(1)) if billing else None,
        "ttl": ttl.group(1) if ttl and "attribute_name(TTL_ATTRIBUTE)" in body else None,
        "indexes": bool(re.search(r"secondary_index", body)),
    }


def strip_rust(src):
    """Rust source with comments removed and string and char literals emptied, so that braces count."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            i = src.find("\n", i)
            i = n if i < 0 else i
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif re.match(r'r#*"', src[i:i + 10]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")):
            hashes = re.match(r'r(#*)"', src[i:]).group(1)
            j = src.find('"' + hashes, i + 2 + len(hashes))
            out.append('""')
            i = n if j < 0 else j + 1 + len(hashes)
        elif c == '"':
            j = i + 1
            while j < n and src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            out.append('""')
            i = j + 1
        elif c == "'" and re.match(r"'(?:\\.|[^\\'])'", src[i:i + 4]):
            out.append("' '")  # a char literal ('{' or '\\n'); a lifetime ('a) falls through
            i += re.match(r"'(?:\\.|[^\\'])'", src[i:i + 4]).end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def rust_functions(src):
    """{name: [body, ...]} of every `fn` in stripped Rust source (same-named fns are kept together)."""
    fns = {}
    for m in re.finditer(r"\bfn\s+(\w+)", src):
        # The body opens at the first `{` outside the signature's brackets; a `;` there first means none.
        start, nesting = m.end(), 0
        while start < len(src) and not (nesting == 0 and src[start] in "{;"):
            nesting += {"(": 1, "[": 1, ")": -1, "]": -1}.get(src[start], 0)
            start += 1
        if start >= len(src) or src[start] == ";":
            continue  # a declaration without a body
        depth, j = 0, start
        while j < len(src):
            depth += {"{": 1, "}": -1}.get(src[j], 0)
            if depth == 0:
                break
            j += 1
        fns.setdefault(m.group(1), []).append(src[start:j + 1])
    return fns


# A call, or a generic function named with a turbofish and passed on as a value (`serve(…, create::<E>)`,
# as the pipeline hands its steps to the runtime).
CALL = re.compile(r"(?:\.|::|\b)(\w+)\s*(?:::<[^>]*>\s*\(|::<[^>]*>|\()")


def derived_actions(crate_src, shared_fns, roots=("run",)):
    """The DynamoDB actions reachable from a function crate's calls into the shared crate, and for each the
    chain of shared functions that leads to it."""
    seen, actions = set(), {}
    # Breadth first, in name order: each action is reported with a shortest chain, the same on every run.
    todo = [(name, (name,)) for name in sorted(set(CALL.findall(crate_src)) | set(roots)) if name in shared_fns]
    while todo:
        name, path = todo.pop(0)
        if name in seen:
            continue
        seen.add(name)
        for body in shared_fns[name]:
            for pattern, action in SDK_OPERATIONS.items():
                if re.search(pattern, body):
                    actions.setdefault(action, " -> ".join(path))
            todo.extend((callee, path + (callee,)) for callee in sorted(set(CALL.findall(body))) if callee in shared_fns and callee not in seen)
    return actions


# ---- the check --------------------------------------------------------------------------------------------


def ref_name(value):
    """The logical id behind {"Ref": X} or {"Fn::GetAtt": [X, ...]}, else None."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def as_list(value):
    return value if isinstance(value, list) else [value]


def check(template, cargo, crates, store, code):
    errors = []
    err = errors.append
    resources = template.get("Resources", {})
    glob = template.get("Globals", {}).get("Function", {})
    functions = {lid: r for lid, r in resources.items() if r.get("Type") == "AWS::Serverless::Function"}
    by_kind = lambda kind: {lid: r for lid, r in resources.items() if r.get("Type") == kind}
    tables = by_kind("AWS::DynamoDB::Table")
    if len(tables) != 1:
        err(f"expected exactly one AWS::DynamoDB::Table, found {sorted(tables)}")
        return errors
    table_id, table = next(iter(tables.items()))
    alarms = by_kind("AWS::CloudWatch::Alarm").values()
    # CloudWatch refuses (at deploy time) an alarm whose metric math reads more than 10 metrics.
    for aid, a in by_kind("AWS::CloudWatch::Alarm").items():
        stats = [m for m in a.get("Properties", {}).get("Metrics", []) if "MetricStat" in m]
        if len(stats) > 10:
            err(f"{aid}: its metric math reads {len(stats)} metrics; CloudWatch allows at most 10 in an alarm")
    policies = {pid: p.get("Properties", {}) for pid, p in {**by_kind("AWS::IAM::ManagedPolicy"), **by_kind("AWS::IAM::Policy")}.items()}

    def role_statements(role_id):
        """(policy, statement) of every policy the role has: inline, the template's managed policies it names,
        any policy of the template naming it in Roles. A managed policy from outside the template is an error."""
        props = resources[role_id].get("Properties", {})
        named = [ref_name(arn) for arn in as_list(props.get("ManagedPolicyArns", []))]
        for arn in [a for a, n in zip(as_list(props.get("ManagedPolicyArns", [])), named) if n not in policies]:
            err(f"{role_id}: managed policy {arn!r} is none of the template's (those grant more than the functions use)")
        docs = [(f"{role_id}.{p.get('PolicyName')}", p.get("PolicyDocument", {})) for p in props.get("Policies", [])]
        docs += [(pid, p.get("PolicyDocument", {})) for pid, p in policies.items()
                 if pid in named or role_id in map(ref_name, as_list(p.get("Roles", [])))]
        return [(pid, stmt) for pid, doc in docs for stmt in as_list(doc.get("Statement", []))]

    def denies_secrets(stmt):
        leading = stmt.get("Condition", {}).get("ForAnyValue:StringLike", {}).get("dynamodb:LeadingKeys", [])
        return (
            stmt.get("Effect") == "Deny"
            and {"dynamodb:*", "*"} & set(as_list(stmt.get("Action", [])))
            and all(ref_name(r) == table_id or r == "*" for r in as_list(stmt.get("Resource")))
            and SECRET_KEYS in as_list(leading)
        )

    def alarmed(lid, metric):
        """Whether an alarm watches the AWS/Lambda `metric` of function `lid`, alone or in its metric math."""
        for a in alarms:
            props = a.get("Properties", {})
            watched = [props] + [m.get("MetricStat", {}).get("Metric", {}) for m in props.get("Metrics", [])]
            if any(w.get("Namespace") == "AWS/Lambda" and w.get("MetricName") == metric
                   and any(ref_name(d.get("Value")) == lid for d in w.get("Dimensions", [])) for w in watched):
                return True
        return False

    def alarmed_emf(binary, metric):
        """Whether an alarm watches the function's own `metric` (its EMF namespace, dimension function)."""
        return any(
            m.get("MetricStat", {}).get("Metric", {}).get("Namespace") == code["namespace"]
            and m["MetricStat"]["Metric"].get("MetricName") == metric
            and {"Name": "function", "Value": binary} in m["MetricStat"]["Metric"].get("Dimensions", [])
            for a in alarms for m in a.get("Properties", {}).get("Metrics", [])
        )

    # ---- functions and what they build
    binary_of, role_of = {}, {}
    for lid, fn in functions.items():
        meta, props = fn.get("Metadata", {}), fn.get("Properties", {})
        prop = lambda key: props.get(key, glob.get(key))
        binary = meta.get("BuildProperties", {}).get("Binary")
        if not binary:
            err(f"{lid}: Metadata.BuildProperties.Binary is missing")
            continue
        binary_of[lid] = binary
        if meta.get("BuildMethod") != "rust-cargolambda":
            err(f"{lid}: Metadata.BuildMethod must be rust-cargolambda")
        if props.get("CodeUri") != "..":
            err(f"{lid}: CodeUri must be '..' (the workspace root), on the function itself")
        for key, want in (("Runtime", "provided.al2023"), ("Handler", "bootstrap"), ("Architectures", ["arm64"])):
            if prop(key) != want:
                err(f"{lid}: {key} must be {want!r}, is {prop(key)!r}")
        env = {**glob.get("Environment", {}).get("Variables", {}), **props.get("Environment", {}).get("Variables", {})}
        if ref_name(env.get("ORGMINT_TABLE")) != table_id:
            err(f"{lid}: environment ORGMINT_TABLE must be !Ref {table_id}")
        if binary not in crates:
            err(f"{lid}: builds '{binary}', which is no crate under functions/")
        elif crates[binary] not in cargo.get("workspace", {}).get("members", []):
            err(f"{lid}: crate {crates[binary]} is not a workspace member")
        group = ref_name({**glob.get("LoggingConfig", {}), **props.get("LoggingConfig", {})}.get("LogGroup"))
        if resources.get(group, {}).get("Type") != "AWS::Logs::LogGroup":
            err(f"{lid}: LoggingConfig.LogGroup must be !Ref to a log group of the template")
        elif "RetentionInDays" not in resources[group].get("Properties", {}):
            err(f"{group}: RetentionInDays is missing")
        role_of[lid] = ref_name(prop("Role"))
        if resources.get(role_of[lid], {}).get("Type") != "AWS::IAM::Role":
            err(f"{lid}: Role must be !GetAtt <an AWS::IAM::Role of the template>.Arn")
        else:
            tags = {t.get("Key"): t.get("Value") for t in resources[role_of[lid]].get("Properties", {}).get("Tags", [])}
            vendor = VENDOR.search(code["crate_src"].get(binary, ""))
            if not vendor or tags.get(VENDOR_TAG) != vendor.group(1).lower():
                err(f"{role_of[lid]}: tag {VENDOR_TAG} must name {binary}'s vendor ({vendor and vendor.group(1).lower()}), is {tags.get(VENDOR_TAG)!r}")
        for metric in ("Errors", "Throttles"):
            if not alarmed(lid, metric):
                err(f"{lid}: no alarm watches its AWS/Lambda {metric}")
        for metric in EMF_ALARMED:
            if not alarmed_emf(binary, metric):
                err(f"{lid}: no alarm watches its own {code['namespace']} {metric} (dimension function={binary})")

    # ---- each role: from all its policies, exactly the DynamoDB actions its functions' code performs
    for role_id in sorted({r for r in role_of.values() if resources.get(r, {}).get("Type") == "AWS::IAM::Role"}):
        actions, sources, statements = set(), set(), role_statements(role_id)
        for source, stmt in statements:
            acts = {a for a in as_list(stmt.get("Action", [])) if a.lower().startswith("dynamodb:") or a == "*"}
            if acts and stmt.get("Effect") == "Allow":
                actions |= acts
                sources.add(source)
                for res in as_list(stmt.get("Resource")):
                    if ref_name(res) != table_id or "Fn::GetAtt" not in res:
                        err(f"{source}: DynamoDB actions must be on !GetAtt {table_id}.Arn only, found {res!r}")
                leading = stmt.get("Condition", {}).get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
                want = {f"{p}#${{aws:PrincipalTag/{VENDOR_TAG}}}#*" for p in code["key_prefixes"]}
                if set(as_list(leading or [])) != want:
                    err(f"{source}: DynamoDB actions must be limited (ForAllValues:StringLike dynamodb:LeadingKeys) to {sorted(want)}, the vendor's partitions of every key prefix the store uses; found {leading!r}")
        if not any(denies_secrets(stmt) for _, stmt in statements):
            err(f"{role_id}: none of its policies denies dynamodb:* on the table's {SECRET_KEYS} leading keys")
        performed = {}
        for lid in [lid for lid, r in role_of.items() if r == role_id and binary_of[lid] in code["crate_src"]]:
            for action, via in derived_actions(code["crate_src"][binary_of[lid]], code["shared_fns"]).items():
                performed.setdefault(action, f"{binary_of[lid]} via {via}")
        where = f"{role_id} (via {', '.join(sorted(sources)) or 'no policy'})"
        for action in sorted(set(performed) - actions):
            err(f"{where}: lacks {action}, which {performed[action]} performs")
        for action in sorted(actions - set(performed)):
            err(f"{where}: grants {action}, which none of its functions performs")
        if not performed:
            err(f"{role_id}: found no DynamoDB operation its functions perform: is the code still readable to scripts/check-infra.py?")

    # ---- crates <-> template functions
    for crate in crates:
        builders = [lid for lid, b in binary_of.items() if b == crate]
        if len(builders) != 1:
            err(f"functions/{crate}: expected one template function with BuildProperties.Binary '{crate}', found {builders or 'none'}")

    # ---- routes: router <-> HttpApi events
    events = []  # (METHOD, path, logical id)
    for lid, fn in functions.items():
        for name, ev in fn.get("Properties", {}).get("Events", {}).items():
            if ev.get("Type") == "HttpApi":
                p = ev.get("Properties", {})
                api = ref_name(p.get("ApiId"))
                if resources.get(api, {}).get("Type") != "AWS::Serverless::HttpApi":
                    err(f"{lid}: event {name} must name the template's HttpApi (ApiId: !Ref ...), or SAM makes a second API")
                events.append((str(p.get("Method", "")).upper(), p.get("Path"), lid))
    routes = []
    router = cargo.get("workspace", {}).get("metadata", {}).get("lambda", {}).get("watch", {}).get("router", {})
    if not router:
        err("Cargo.toml has no [workspace.metadata.lambda.watch.router]")
    for path, targets in router.items():
        for t in as_list(targets):
            routes.append((t["method"].upper(), path, t["function"]))
    for method, path, function in routes:
        found = [lid for m, p, lid in events if (m, p) == (method, path)]
        if len(found) != 1:
            err(f"route {method} {path} ({function}): expected one HttpApi event in the template, found {found or 'none'}")
        elif binary_of.get(found[0]) != function:
            err(f"route {method} {path}: the template sends it to {found[0]} ({binary_of.get(found[0])}), the router to {function}")
    for method, path, lid in events:
        if (method, path) not in {(m, p) for m, p, _ in routes}:
            err(f"{lid}: HttpApi event {method} {path} is not in Cargo.toml's router")

    # ---- the table
    want = schema_from_store(store)
    props = table.get("Properties", {})
    if not want or not want["keys"] or not want["attributes"] or not want["billing"] or not want["ttl"]:
        err("could not read the table schema from Store::create_table in shared/src/store/: update scripts/check-infra.py")
    else:
        got_keys = [(k.get("AttributeName"), k.get("KeyType")) for k in props.get("KeySchema", [])]
        if got_keys != want["keys"]:
            err(f"{table_id}: KeySchema {got_keys} != store/ {want['keys']}")
        got_attrs = {a.get("AttributeName"): a.get("AttributeType") for a in props.get("AttributeDefinitions", [])}
        if got_attrs != want["attributes"]:
            err(f"{table_id}: AttributeDefinitions {got_attrs} != store/ {want['attributes']}")
        if props.get("BillingMode") != want["billing"]:
            err(f"{table_id}: BillingMode {props.get('BillingMode')} != store/ {want['billing']}")
        ttl = props.get("TimeToLiveSpecification", {})
        if ttl.get("AttributeName") != want["ttl"] or ttl.get("Enabled") is not True:
            err(f"{table_id}: TTL must be enabled on '{want['ttl']}' (store/mod.rs TTL_ATTRIBUTE)")
        got_indexes = bool(props.get("GlobalSecondaryIndexes") or props.get("LocalSecondaryIndexes"))
        if got_indexes or want["indexes"]:
            err(f"{table_id}: indexes in the template ({got_indexes}) or in store/ ({want['indexes']}): this check knows none; compare them by hand and teach it")
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled") is not True:
        err(f"{table_id}: point-in-time recovery must be on")
    if props.get("DeletionProtectionEnabled") is not True:
        err(f"{table_id}: deletion protection must be on")
    if props.get("SSESpecification", {}).get("SSEEnabled") is not True:
        err(f"{table_id}: SSESpecification.SSEEnabled must be true")
    if table.get("DeletionPolicy") != "Retain":
        err(f"{table_id}: DeletionPolicy must be Retain")

    # ---- checkov skips carry their reason
    for lid, res in resources.items():
        for skip in res.get("Metadata", {}).get("checkov", {}).get("skip", []):
            if not str(skip.get("id", "")).startswith("CKV") or not str(skip.get("comment", "")).strip():
                err(f"{lid}: checkov skip {skip!r} needs an id and a one-line comment saying why")

    # ---- the API, its alarms, parameters and outputs
    apis = by_kind("AWS::Serverless::HttpApi")
    if len(apis) != 1:
        err(f"expected one AWS::Serverless::HttpApi, found {sorted(apis)}")
    for api_id, api in apis.items():
        if "AccessLogSettings" not in api.get("Properties", {}):
            err(f"{api_id}: AccessLogSettings is missing")
        if not any(a.get("Properties", {}).get("MetricName") == "5xx" for a in alarms):
            err(f"{api_id}: no 5xx alarm")
    if not any(table_id in str(a) and "Throttle" in str(a) for a in alarms):
        err(f"{table_id}: no throttle alarm")
    for name in ("Stage", "DefaultCap"):
        if name not in template.get("Parameters", {}):
            err(f"parameter {name} is missing")
    for name in ("ApiUrl", "TableName"):
        if name not in template.get("Outputs", {}):
            err(f"output {name} is missing")
    return list(dict.fromkeys(errors))  # a fault in the policy the roles share is reported once


# ---- self-test: the check must catch drift -----------------------------------------------------------------


def self_test(template, cargo, crates, store, code):
    """Each alteration below must make check() fail; returns the ones it missed."""
    res = template["Resources"]
    fn_id = next(lid for lid, r in res.items() if r["Type"] == "AWS::Serverless::Function")
    role_id = ref_name(res[fn_id]["Properties"].get("Role", template["Globals"]["Function"].get("Role")))
    shared_id = ref_name(res[role_id]["Properties"]["ManagedPolicyArns"][0])
    scan = {"Effect": "Allow", "Action": "dynamodb:Scan", "Resource": {"Fn::GetAtt": ["Table", "Arn"]}}
    role = lambda t: t["Resources"][role_id]["Properties"]
    shared = lambda t: t["Resources"][shared_id]["Properties"]["PolicyDocument"]["Statement"]
    alterations = {
        "new_route": lambda t, c, k, s: c["workspace"]["metadata"]["lambda"]["watch"]["router"].update(
            {"/v1/new": [{"method": "POST", "function": "new-fn"}]}),
        "new_crate": lambda t, c, k, s: k.update({"new-fn": "functions/new-fn"}),
        "drop_event": lambda t, c, k, s: t["Resources"][fn_id]["Properties"].update(Events={}),
        "wider_leading_keys": lambda t, c, k, s: next(st for st in shared(t) if st["Effect"] == "Allow" and "Condition" in st)["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"].pop(),
        "wrong_vendor_tag": lambda t, c, k, s: role(t)["Tags"][0].update(Value="other"),
        "unwatched_latency": lambda t, c, k, s: t["Resources"]["LatencyP99CalcomAlarm"]["Properties"]["Metrics"].pop(),
        "alarm_over_10_metrics": lambda t, c, k, s: t["Resources"]["ServerErrorsCalcomAlarm"]["Properties"]["Metrics"].extend(
            [dict(t["Resources"]["ServerErrorsCalcomAlarm"]["Properties"]["Metrics"][1], Id=f"more{i}") for i in range(6)]),
        "unwatched_function": lambda t, c, k, s: [a["Properties"]["Metrics"].pop() for a in t["Resources"].values()
                                                   if a["Type"] == "AWS::CloudWatch::Alarm" and "Lambda" in str(a)],
        "wider_role": lambda t, c, k, s: role(t).setdefault("Policies", []).append({"PolicyName": "more", "PolicyDocument": {"Statement": [scan]}}),
        "wider_shared_policy": lambda t, c, k, s: shared(t).append(scan),
        "no_secrets_deny": lambda t, c, k, s: next(st for st in shared(t) if st["Effect"] == "Deny").pop("Condition"),
        "aws_managed_policy": lambda t, c, k, s: role(t)["ManagedPolicyArns"].append("arn:aws:iam::aws:policy/AmazonDynamoDBReadOnlyAccess"),
        "unexplained_skip": lambda t, c, k, s: t["Resources"][fn_id]["Metadata"]["checkov"]["skip"].append({"id": "CKV_AWS_1"}),
        "schema_drift": lambda t, c, k, s: s.replace('key("sk", KeyType::Range)', 'key("sort", KeyType::Range)'),
        "gsi_in_code": lambda t, c, k, s: s.replace(".billing_mode(", ".global_secondary_indexes(gsi)\n            .billing_mode("),
        "code_reads_more": lambda t, c, k, s: code["shared_fns"].setdefault("prime", []).append("{ self.client.delete_table() }"),
    }
    missed = []
    for name, alter in alterations.items():
        t, c, k, saved = copy.deepcopy(template), copy.deepcopy(cargo), dict(crates), copy.deepcopy(code)
        s = alter(t, c, k, store)
        if not check(t, c, k, s if isinstance(s, str) else store, code):
            missed.append(name)
        code.clear()
        code.update(saved)
    return missed


def main():
    inputs = load_inputs()
    errors = check(*inputs)
    for e in errors:
        print(f"check-infra: {e}", file=sys.stderr)
    if errors:
        print(f"check-infra: {len(errors)} problem(s) between infra/template.yaml and the code", file=sys.stderr)
        return 1
    missed = self_test(*inputs)
    if missed:
        print(f"check-infra: self-test: the check missed {missed}", file=sys.stderr)
        return 1
    template, cargo, crates, _, code = inputs
    routes = sum(len(as_list(v)) for v in cargo["workspace"]["metadata"]["lambda"]["watch"]["router"].values())
    for crate, src in code["crate_src"].items():
        actions = derived_actions(src, code["shared_fns"])
        print(f"check-infra: {crate} performs " + ", ".join(f"{a.split(':')[1]} ({p})" for a, p in sorted(actions.items())))
    print(f"check-infra: ok ({routes} route(s), {len(crates)} function crate(s), IAM = the actions the code performs, table schema as in shared/src/store/; self-test ok)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
