#!/usr/bin/env python3
"""Would CloudFormation accept template.yaml, and does it keep the rules the stack relies on?

Runs the template through AWS's SAM translator (the `aws-sam-translator` package that
`sam deploy` itself uses), then checks the CloudFormation it produces:

- no dependency cycle among the generated resources (through Ref, Fn::GetAtt, Fn::Sub and
  DependsOn), which CloudFormation refuses with "Circular dependency between resources";
- every SQS-triggered function's queue keeps messages invisible for at least six times the
  function's timeout (AWS's rule for Lambda event sources), and reports batch item failures;
- every SNS topic an alarm notifies can be published to by CloudWatch: not encrypted with the
  AWS-managed `alias/aws/sns` key (whose policy cannot grant CloudWatch), and, when encrypted
  with a key of the stack, that key's policy lets cloudwatch.amazonaws.com use it;
- provider webhooks have one route per provider, each with its own throttling, and no
  catch-all `{provider}` route that unauthenticated traffic could use up.

Usage: template_check.py [template.yaml]      exit 0 when clean, 1 with the problems printed
       template_check.py --self-test          checks the checks against templates that break them
"""

import copy
import logging
import os
import re
import sys

PROVIDERS = ["xendit", "stripe", "adyen", "midtrans", "dana", "pix", "promptpay"]


def load(path):
    from cfnlint.decode import cfn_yaml

    with open(path, encoding="utf-8") as f:
        return cfn_yaml.loads(f.read(), path)


def plain(node):
    """The decoded template as plain dicts, lists and strings (cfn-lint marks its nodes)."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, str):
        return str(node)
    return node


class NoManagedPolicies:
    """The translator asks for AWS managed policies by name; this template uses none."""

    def load(self):
        return {}


def transform(template):
    from samtranslator.translator.transform import transform as sam_transform

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    # The translator's own metrics are never published here; it warns about that at exit.
    logging.getLogger("samtranslator.metrics.metrics").setLevel(logging.ERROR)
    t = copy.deepcopy(template)
    for res in t.get("Resources", {}).values():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::Function" and "CodeUri" in props:
            props["CodeUri"] = "s3://walletpay-artifacts/function.zip"
    return sam_transform(t, {}, NoManagedPolicies())


SUB_REF = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.[A-Za-z0-9.]+)?\}")


def references(node, names):
    """Names of resources in `names` that `node` refers to."""
    found = set()

    def walk(n):
        if isinstance(n, dict):
            for k, v in n.items():
                if k == "Ref" and isinstance(v, str) and v in names:
                    found.add(v)
                elif k == "Fn::GetAtt":
                    target = v[0] if isinstance(v, list) else str(v).split(".")[0]
                    if target in names:
                        found.add(target)
                elif k == "Fn::Sub":
                    text = v[0] if isinstance(v, list) else v
                    if isinstance(text, str):
                        found.update(m for m in SUB_REF.findall(text) if m in names)
                    if isinstance(v, list) and len(v) > 1:
                        walk(v[1])
                    continue
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(node)
    return found


def dependency_graph(cfn):
    resources = cfn.get("Resources", {})
    names = set(resources)
    graph = {}
    for name, res in resources.items():
        deps = references(
            {k: v for k, v in res.items() if k not in ("DependsOn", "Type")}, names
        )
        depends_on = res.get("DependsOn", [])
        if isinstance(depends_on, str):
            depends_on = [depends_on]
        deps.update(d for d in depends_on if d in names)
        deps.discard(name)
        graph[name] = sorted(deps)
    return graph


def cycles(graph):
    """Every strongly connected component of more than one resource (Tarjan)."""
    index, low, on_stack, stack, out = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def number(value, default):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def queue_problems(sam):
    """SQS event sources: visibility >= 6 x timeout, and partial batch responses."""
    problems = []
    resources = sam.get("Resources", {})
    default_timeout = number(
        sam.get("Globals", {}).get("Function", {}).get("Timeout"), 3
    )
    for name, res in resources.items():
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        props = res.get("Properties") or {}
        timeout = number(props.get("Timeout"), default_timeout)
        for ev_name, ev in (props.get("Events") or {}).items():
            if ev.get("Type") != "SQS":
                continue
            ev_props = ev.get("Properties") or {}
            queue = ev_props.get("Queue")
            qname = None
            if isinstance(queue, dict) and "Fn::GetAtt" in queue:
                target = queue["Fn::GetAtt"]
                qname = target[0] if isinstance(target, list) else target.split(".")[0]
            q = resources.get(qname or "", {})
            visibility = number((q.get("Properties") or {}).get("VisibilityTimeout"), 30)
            if visibility < 6 * timeout:
                problems.append(
                    f"{name}.{ev_name}: queue {qname} is invisible for {visibility} s, "
                    f"less than 6 x the function's {timeout} s timeout"
                )
            if "ReportBatchItemFailures" not in (ev_props.get("FunctionResponseTypes") or []):
                problems.append(f"{name}.{ev_name}: does not report batch item failures")
    return problems


def grants_cloudwatch(key_policy):
    for st in (key_policy or {}).get("Statement", []):
        if st.get("Effect") != "Allow":
            continue
        principal = st.get("Principal") or {}
        services = principal.get("Service", []) if isinstance(principal, dict) else []
        if isinstance(services, str):
            services = [services]
        actions = st.get("Action", [])
        if isinstance(actions, str):
            actions = [actions]
        if "cloudwatch.amazonaws.com" in services and any(
            a in ("kms:GenerateDataKey*", "kms:GenerateDataKey", "kms:*") for a in actions
        ) and any(a in ("kms:Decrypt", "kms:*") for a in actions):
            return True
    return False


def alarm_topic_problems(cfn):
    problems = []
    resources = cfn.get("Resources", {})
    topics = set()
    for res in resources.values():
        if res.get("Type") != "AWS::CloudWatch::Alarm":
            continue
        props = res.get("Properties") or {}
        for field in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            for action in props.get(field) or []:
                topics.update(references(action, set(resources)))
    for name in sorted(topics):
        res = resources[name]
        if res.get("Type") != "AWS::SNS::Topic":
            continue
        key = (res.get("Properties") or {}).get("KmsMasterKeyId")
        if key is None:
            continue
        if isinstance(key, str):
            if key.startswith("alias/aws/") or ":alias/aws/" in key:
                problems.append(
                    f"{name}: encrypted with the AWS-managed key {key}, which CloudWatch "
                    "cannot use: its alarms would never be delivered"
                )
            continue
        targets = references(key, set(resources))
        for t in targets:
            key_res = resources[t]
            if key_res.get("Type") == "AWS::KMS::Alias":
                targets_of_alias = references(
                    (key_res.get("Properties") or {}).get("TargetKeyId"), set(resources)
                )
                t = next(iter(targets_of_alias), t)
                key_res = resources[t]
            if key_res.get("Type") == "AWS::KMS::Key" and not grants_cloudwatch(
                (key_res.get("Properties") or {}).get("KeyPolicy")
            ):
                problems.append(
                    f"{name}: its key {t} does not let cloudwatch.amazonaws.com "
                    "GenerateDataKey* and Decrypt"
                )
    return problems


def webhook_route_problems(sam):
    problems = []
    routes = {}
    api_settings = {}
    for name, res in sam.get("Resources", {}).items():
        props = res.get("Properties") or {}
        if res.get("Type") == "AWS::Serverless::HttpApi":
            api_settings = props.get("RouteSettings") or {}
        if res.get("Type") != "AWS::Serverless::Function":
            continue
        for ev in (props.get("Events") or {}).values():
            if ev.get("Type") != "HttpApi":
                continue
            p = ev.get("Properties") or {}
            path = p.get("Path", "")
            if path.startswith("/v1/webhooks"):
                routes[f"{p.get('Method', 'ANY').upper()} {path}"] = name
    for route in routes:
        if "{" in route:
            problems.append(
                f"{route}: a catch-all webhook route lets junk for one provider use up "
                "every provider's limits"
            )
    for provider in PROVIDERS:
        route = f"POST /v1/webhooks/{provider}"
        if route not in routes:
            problems.append(f"{route}: missing (each provider has its own route)")
            continue
        s = api_settings.get(route) or {}
        if "ThrottlingRateLimit" not in s or "ThrottlingBurstLimit" not in s:
            problems.append(f"{route}: no throttling of its own in the HTTP API's RouteSettings")
    return problems


def check(sam):
    problems = []
    try:
        cfn = transform(sam)
    except Exception as e:  # the translator raises its own exception types
        return [f"the SAM translator refused the template: {e}"]
    for c in cycles(dependency_graph(cfn)):
        problems.append("dependency cycle: " + " <-> ".join(c))
    problems += queue_problems(sam)
    problems += alarm_topic_problems(cfn)
    problems += webhook_route_problems(sam)
    return problems


def self_test(path):
    """Each check must fail on a template that breaks its rule."""
    base = plain(load(path))
    failures = []

    def expect(what, mutate, needle):
        t = copy.deepcopy(base)
        mutate(t)
        found = check(t)
        if not any(needle in p for p in found):
            failures.append(f"{what}: expected a problem mentioning {needle!r}, got {found}")

    def functions(t):
        return [
            (n, r)
            for n, r in t["Resources"].items()
            if r.get("Type") == "AWS::Serverless::Function"
        ]

    def http_function(t):
        return next(
            n
            for n, r in functions(t)
            if any(e.get("Type") == "HttpApi" for e in (r["Properties"].get("Events") or {}).values())
        )

    def api_id_in_env(t):
        name = http_function(t)
        env = t["Resources"][name]["Properties"].setdefault("Environment", {}).setdefault(
            "Variables", {}
        )
        env["SELF_URL"] = {"Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.amazonaws.com"}

    expect("a function naming its own API", api_id_in_env, "dependency cycle")

    def short_visibility(t):
        for n, r in t["Resources"].items():
            if r.get("Type") == "AWS::SQS::Queue" and "RedrivePolicy" in r.get("Properties", {}):
                r["Properties"]["VisibilityTimeout"] = 1
                return

    expect("a queue invisible for less than 6 x its consumer's timeout", short_visibility, "less than 6 x")

    def managed_sns_key(t):
        for r in t["Resources"].values():
            if r.get("Type") == "AWS::SNS::Topic":
                r["Properties"]["KmsMasterKeyId"] = "alias/aws/sns"

    expect("an alarm topic on the AWS-managed SNS key", managed_sns_key, "AWS-managed key")

    def catch_all(t):
        name = http_function(t)
        t["Resources"][name]["Properties"]["Events"]["CatchAll"] = {
            "Type": "HttpApi",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "Method": "POST",
                "Path": "/v1/webhooks/{provider}",
            },
        }

    expect("a catch-all webhook route", catch_all, "catch-all")

    graph = {"A": ["B"], "B": ["C"], "C": ["A"], "D": ["A"]}
    if cycles(graph) != [["A", "B", "C"]]:
        failures.append(f"cycle finder: {cycles(graph)}")
    if cycles({"A": ["B"], "B": []}):
        failures.append("cycle finder reported a cycle in a chain")
    return failures


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    path = args[0] if args else "template.yaml"
    if "--self-test" in argv:
        failures = self_test(path)
        for f in failures:
            print(f"self-test: {f}")
        print("template checks: self-test " + ("failed" if failures else "passed"))
        return 1 if failures else 0
    problems = check(plain(load(path)))
    for p in problems:
        print(p)
    if problems:
        print(f"{path}: {len(problems)} problem(s); CloudFormation would refuse or misrun it")
        return 1
    print(f"{path}: transforms cleanly, no dependency cycles, queues, alarms and webhook routes as required")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
