"""API Management as AI gateway — "API Management configured with rate limiting".

An API Management service fronts the workload; the policy that really applies to each API (the
chain global → product → API → operation, see `_apim_policy.py`) limits its request rate; the APIs
that call Azure OpenAI / AI Services also limit and count tokens, cache, and break the circuit
when the model backend throttles or fails; the gateway itself is private and calls the models
with its managed identity.
"""

from __future__ import annotations

from functools import lru_cache, partial
from urllib.parse import urlparse

from prodcheck import Severity, rule
from prodcheck.arm import norm

from ._apim_policy import (
    BACKEND,
    NAMED_VALUE,
    POLICY_CHAIN_TYPES,
    SERVICE,
    Item,
    api_policies,
    current_apis,
    elements_named,
    guaranteed,
    guaranteed_all,
    named_values_of,
    present,
    resolve_named_values,
    walk,
)

CHECKLIST = "API Management configured with rate limiting"
COGNITIVE = "Microsoft.CognitiveServices/accounts"
PRIVATE_ENDPOINT = "Microsoft.Network/privateEndpoints"

RATE_LIMITS = ("rate-limit", "rate-limit-by-key", "quota", "quota-by-key")
TOKEN_LIMITS = ("llm-token-limit", "azure-openai-token-limit")
TOKEN_METRICS = ("llm-emit-token-metric", "azure-openai-emit-token-metric")
CACHE_LOOKUPS = (
    "llm-semantic-cache-lookup",
    "azure-openai-semantic-cache-lookup",
    "cache-lookup",
    "cache-lookup-value",
)
AI_HOST_SUFFIXES = [".openai.azure.com", ".cognitiveservices.azure.com", ".services.ai.azure.com"]
AI_NEEDS = [*POLICY_CHAIN_TYPES, BACKEND, COGNITIVE]


def _host(url) -> str:
    text = str(url or "").strip()
    if not text or text.startswith("@") or "{{" in text:
        return ""  # a policy expression or a named value: not resolvable from the inventory
    if len(text) <= 2048:
        return _url_host_memo(text)  # the same backend URLs, read by several rules
    return _url_host(text)


def _url_host(text: str) -> str:
    return (urlparse(text if "://" in text else f"https://{text}").hostname or "").lower()


_url_host_memo = lru_cache(maxsize=1 << 14)(_url_host)


# ---- AI backends ---------------------------------------------------------------------------------


def _ai_accounts(inv) -> tuple[dict, set[str]]:
    """The AI Services accounts in scope by id, and their endpoint hosts (once per inventory)."""
    accounts = {account.key: account for account in inv.of_type(COGNITIVE)}
    hosts: set[str] = set()
    for account in accounts.values():
        urls = [account.get("properties.endpoint")]
        urls += list((account.get("properties.endpoints") or {}).values())
        hosts |= {host for host in map(_host, urls) if host}
    return accounts, hosts


class AiBackends:
    """Which hosts and backend entities of a service lead to Azure OpenAI / AI Services."""

    def __init__(self, inv, service, suffixes):
        self.service = service
        self.suffixes = [s.lower() for s in suffixes]
        self.accounts, self.account_hosts = inv.derived(_ai_accounts, COGNITIVE)
        self.backends = {b.name.lower(): b for b in inv.children(service, BACKEND)}

    def is_ai_host(self, host: str) -> bool:
        return bool(host) and (
            any(host.endswith(s) for s in self.suffixes) or host in self.account_hosts
        )

    def backend(self, backend_id: str):
        return self.backends.get((backend_id or "").lower())

    def members(self, backend, depth: int = 0) -> list:
        """The single backends behind `backend` (itself, or a pool's members)."""
        if backend is None or depth > 3:
            return []
        if _is_pool(backend):
            out = []
            for name in _pool_member_names(backend):
                out += self.members(self.backend(name), depth + 1)
            return out
        return [backend]

    def is_ai_backend(self, backend) -> bool:
        for member in self.members(backend):
            if self.is_ai_host(_host(member.get("properties.url"))):
                return True
            resource_id = str(member.get("properties.resourceId", "") or "")
            if "/providers/" in resource_id.lower():
                target = "/subscriptions/" + resource_id.split("/subscriptions/", 1)[-1]
                if norm(target) in self.accounts:
                    return True
        return False


def _is_pool(backend) -> bool:
    return str(backend.get("properties.type", "") or "").lower() == "pool"


class ApiView:
    """One API and what its policy chain does, across all its request paths."""

    def __init__(self, inv, service, api, ai: AiBackends | None):
        self.api = api
        self.policies = api_policies(inv, service, api)
        self.paths = self.policies.paths
        self.errors = self.policies.errors
        self.ai_routes: list[str] = []  # how the API reaches AI: "serviceUrl ...", "backend x"
        self.ai_backends: list = []
        self.direct_ai = False  # some path calls an AI host without a backend entity
        if ai is None:
            return  # the caller does not ask which APIs call AI services
        service_url_host = _host(api.get("properties.serviceUrl"))
        for path in self.paths:
            inbound = path.effective("inbound")
            switch = guaranteed(inbound, ["set-backend-service"])
            if switch is None and ai.is_ai_host(service_url_host):
                self.direct_ai = True
                self._route(f"serviceUrl {service_url_host}")
            for item in walk(inbound):
                if item.tag != "set-backend-service":
                    continue
                backend_id = item.element.get("backend-id", "")
                base_host = _host(item.element.get("base-url", ""))
                if backend_id:
                    backend = ai.backend(backend_id)
                    if backend is not None and ai.is_ai_backend(backend):
                        self._route(f"backend {backend.name}")
                        if backend not in self.ai_backends:
                            self.ai_backends.append(backend)
                elif ai.is_ai_host(base_host):
                    self.direct_ai = True
                    self._route(f"base-url {base_host}")

    def _route(self, text: str) -> None:
        if text not in self.ai_routes:
            self.ai_routes.append(text)

    @property
    def is_ai(self) -> bool:
        return bool(self.ai_routes)

    def check(self, names, *, anywhere: bool = False) -> tuple[list[str], list[str]]:
        """(origins, paths lacking) of a policy across every request path of the API."""
        origins, lacking = [], []
        for path in self.paths:
            inbound = path.effective("inbound")
            found = present(inbound, names) if anywhere else guaranteed(inbound, names)
            if found is None:
                lacking.append(path.describe())
            else:
                where = f"<{found.tag}> from the {found.origin} policy"
                if found.tag == "choose":
                    where = f"every branch of a <choose> in the {found.origin} policy"
                if where not in origins:
                    origins.append(where)
        return origins, lacking


def _views(inv, p, ai_only: bool):
    """(service, API views) for every APIM service; with `ai_only`, only the APIs calling AI.

    Backends and Cognitive Services accounts are read only to find the AI APIs, so a rule that
    does not ask for them does not depend on them.
    """
    suffixes = tuple(p.ai_host_suffixes) if ai_only else None
    for service in inv.of_type(SERVICE):
        # The same views for every APIM rule: worked out once per inventory (`Inventory.recall`).
        views = inv.recall(
            ("apim views", service.key, suffixes),
            partial(_service_views, inv, service, suffixes),
            service,
        )
        yield service, list(views)


def _service_views(inv, service, suffixes):
    ai = AiBackends(inv, service, suffixes) if suffixes is not None else None
    views = [ApiView(inv, service, api, ai) for api in current_apis(inv, service)]
    if suffixes is not None:
        views = [v for v in views if v.is_ai]
    return views


def _policy_verdicts(inv, p, names, *, ai_only, anywhere, lacking_text, ok_text, none_text):
    for service, views in _views(inv, p, ai_only):
        if not views:
            yield service.not_applicable(none_text)
            continue
        for view in views:
            api = view.api
            evidence = {"service": service.name}
            if ai_only:
                evidence["aiRoutes"] = view.ai_routes
            if view.errors:
                yield api.error(*view.errors, evidence=evidence)
                continue
            origins, lacking = view.check(names, anywhere=anywhere)
            evidence["from"] = origins
            if lacking:
                yield api.fail(
                    f"{lacking_text} on {', '.join(lacking)}"
                    + (f" (present elsewhere: {'; '.join(origins)})" if origins else ""),
                    evidence=evidence,
                )
            else:
                yield api.ok(f"{ok_text}: {'; '.join(origins)}", evidence=evidence)


# ---- 12. an APIM service fronts the workload ---------------------------------------------------


@rule(
    id="PC-APIM-001",
    title="An API Management service fronts the workload",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[SERVICE, "Microsoft.ApiManagement/service/apis"],
    rationale=(
        "Without an API gateway there is no place to enforce rate limits, token budgets, caching "
        "or circuit breaking: every caller reaches the models and the backend directly."
    ),
    remediation=(
        """
        Put an API Management service in front of the backend and the Azure OpenAI endpoints, then
        import their APIs and give them the guide's policies (rate limits, token limits, circuit
        breakers).

        ```sh
        az apim create -g {resource_group} -n '<apim-name>' --sku-name Premium --publisher-name '<organisation>' --publisher-email '<admin@example.com>' --enable-managed-identity true
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/api-management/genai-gateway-capabilities"],
)
def apim_fronts_workload(inv, p):
    """
    ## What it checks
    The audited scope has at least one API Management service, and each one exposes at least one
    API. None at all is a FAIL reported at the scope.

    Checked against the `Microsoft.ApiManagement/service` and `service/apis` GET bodies of API
    versions 2018-01-01 and 2024-05-01 (the collector's; APIs with `isCurrent` and
    `apiRevision`).

    ## Example
    Fails: no `Microsoft.ApiManagement/service` in scope, or a service without APIs.
    Passes: a service with `Microsoft.ApiManagement/service/apis` children.
    """
    services = inv.of_type(SERVICE)
    if not services:
        yield inv.scope.fail(
            "no API Management service in scope: callers reach the backend and the models directly"
        )
        return
    for service in services:
        apis = current_apis(inv, service)
        evidence = {"apis": [a.name for a in apis], "sku": service.sku.get("name")}
        if apis:
            yield service.ok(
                f"exposes {len(apis)} API(s): {', '.join(a.name for a in apis)}", evidence=evidence
            )
        else:
            yield service.fail("exposes no API: it fronts nothing", evidence=evidence)


# ---- 13. every API is rate limited ----------------------------------------------------------------


def _seconds(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _judge_limit_element(element, named, p) -> tuple[bool | None, str]:
    """(True: limits each caller's rate / False: does not / None: cannot tell, and why)."""
    tag = element.tag.rsplit("}", 1)[-1].lower() if isinstance(element.tag, str) else ""
    attrs = {}
    unresolved: list[str] = []
    for name in ("calls", "renewal-period", "counter-key", "bandwidth"):
        value, missing = resolve_named_values(str(element.get(name, "") or ""), named)
        attrs[name] = value
        unresolved += missing
    what = f"<{tag} calls={attrs['calls'] or '?'} renewal-period={attrs['renewal-period'] or '?'}"
    key = attrs["counter-key"]
    shown = key if len(key) <= 40 else key[:37] + "..."
    what += f" counter-key={shown!r}>" if tag.endswith("-by-key") else ">"
    if unresolved:
        return None, (
            f"{what} uses named value(s) {', '.join(sorted(set(unresolved)))}, whose value is "
            "secret, was kept out of the snapshot (it looked like a credential) or is not in the "
            "inventory: write the value into the policy, or accept this finding"
        )
    constant_key = "@(" not in key and "@{" not in key
    if tag.endswith("-by-key") and constant_key and not p.accept_shared_counter_key:
        return False, (
            f"{what} has a constant counter-key: every caller shares one bucket, so one "
            "client in a loop throttles all the others and no caller is limited on its own"
        )
    if tag.startswith("quota"):
        period = _seconds(attrs["renewal-period"])
        if period is None:
            return None, f"{what} has a renewal-period that is not a number of seconds"
        if period >= p.budget_period_seconds and not p.accept_quota_as_rate_limit:
            return False, (
                f"{what} renews every {period / 3600:g} h: a budget, not a rate limit (a client "
                "can spend all of it in one burst)"
            )
    return True, what


def _judge_limit(item: Item, named, p) -> tuple[bool | None, str]:
    judged = [_judge_limit_element(e, named, p) for e in elements_named(item, RATE_LIMITS)]
    origin = f"from the {item.origin} policy"
    if item.tag == "choose":
        origin = f"in every branch of a <choose> in the {item.origin} policy"
    for wanted in (False, None):  # a <choose> is only as good as its weakest branch
        bad = [text for verdict, text in judged if verdict is wanted]
        if bad:
            return wanted, f"{'; '.join(bad)} ({origin})"
    return True, f"{'; '.join(text for _, text in judged)} {origin}"


@rule(
    id="PC-APIM-002",
    title="Every API is rate limited per caller by the policy that really applies",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[*POLICY_CHAIN_TYPES, NAMED_VALUE],
    params={
        "accept_shared_counter_key": False,
        "budget_period_seconds": 3600,
        "accept_quota_as_rate_limit": False,
    },
    rationale=(
        "One caller in a loop can exhaust the backend and run up the model bill. A limit in the "
        "global policy protects only the APIs whose policies keep `<base />`; a limit keyed on a "
        "constant is one bucket that the noisiest caller empties for everyone; a daily quota "
        "stops nobody from spending it in a minute."
    ),
    remediation=(
        """
        Give the API a rate limit per caller in its inbound policy (a key per subscription, client
        address or token claim), or keep `<base />` in it so that the global or product limit applies.
        Keep quotas for budgets, next to a rate limit. Edit the policy in the portal's policy editor or
        in the API's template:

        ```xml
        <inbound>
          <base />
          <rate-limit-by-key calls="100" renewal-period="60" counter-key="@(context.Subscription.Id)" />
        </inbound>
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/api-management/api-management-howto-policies",
        "https://learn.microsoft.com/azure/api-management/rate-limit-by-key-policy",
        "https://learn.microsoft.com/azure/api-management/quota-by-key-policy",
        "https://learn.microsoft.com/azure/api-management/api-management-howto-properties",
    ],
)
def every_api_rate_limited(inv, p):
    """
    ## What it checks
    For each API (current revisions), the effective inbound policy on every request path
    contains a limit on each caller's request rate, outside any condition (or in every branch of
    a `<choose>` with `<otherwise>`). The effective policy is the chain global → product → API →
    operation: a section runs its parent's section only where it holds `<base />`, and a scope
    without a policy document inherits its parent whole. Request paths are each product that
    contains the API (and none, when the API does not require a subscription or is in no
    product) times each operation with a policy of its own. Policies are parsed as XML
    (defusedxml); comments do not count; `<include-fragment>` is expanded from the service's
    policy fragments.

    What counts as a limit on each caller's rate:

    - `rate-limit` (per subscription);
    - `rate-limit-by-key` and `quota-by-key` whose `counter-key` is a policy expression
      (`@(...)`). A constant key is one bucket shared by every caller: FAIL, unless
      `accept_shared_counter_key` says the team means a single shared limit;
    - `quota` and `quota-by-key` whose `renewal-period` is shorter than
      `budget_period_seconds` (an hour). A quota renewed hourly or daily is a budget, not a rate
      limit: FAIL, unless `accept_quota_as_rate_limit`. A budget next to a real rate limit passes.

    Named values (`{{name}}`) in `calls`, `renewal-period` and `counter-key` are resolved from
    the service's named values (`Microsoft.ApiManagement/service/namedValues`), whose value ARM
    returns unless it is secret or kept in Key Vault (collection also keeps out of the snapshot
    any value that looks like a credential); a limit that depends on one it cannot read gives
    ERROR, as does a policy that cannot be parsed or that includes a fragment missing from
    the inventory. The finding names where the limit comes from, or the paths that lack one.

    Checked against the API Management GET bodies of API version 2024-05-01 (policies with
    `format: xml`, policy fragments, named values with `displayName`, `secret` and `keyVault`),
    and the policies of 2018-01-01 (the document in `policyContent`).

    ## Example
    Fails: the global policy limits, but the API's inbound section has no `<base />`:
    ```xml
    <!-- global -->
    <policies><inbound><rate-limit calls="100" renewal-period="60" /></inbound>...</policies>
    <!-- API -->
    <policies><inbound><set-backend-service backend-id="app" /></inbound>...</policies>
    ```
    Fails: one bucket for everyone, and a daily budget:
    ```xml
    <inbound><base /><rate-limit-by-key calls="600" renewal-period="60" counter-key="voice" />
      <quota-by-key calls="100000" renewal-period="86400" counter-key="@(context.Subscription.Id)" /></inbound>
    ```
    Passes: the API's inbound section keeps `<base />` (or has its own limit per caller):
    ```xml
    <policies><inbound><base /><rate-limit-by-key calls="120" renewal-period="60"
      counter-key="@(context.Request.IpAddress)" /></inbound>...</policies>
    ```
    """
    for service, views in _views(inv, p, ai_only=False):
        if not views:
            yield service.not_applicable("the service exposes no API")
            continue
        named = named_values_of(inv, service)
        for view in views:
            api = view.api
            evidence: dict = {"service": service.name}
            if view.errors:
                yield api.error(*view.errors, evidence=evidence)
                continue
            good: list[str] = []
            lacking: list[str] = []
            weak: dict[str, list[str]] = {}
            unknown: dict[str, list[str]] = {}
            for path in view.paths:
                limits = [
                    _judge_limit(i, named, p)
                    for i in guaranteed_all(path.effective("inbound"), RATE_LIMITS)
                ]
                if not limits:
                    lacking.append(path.describe())
                elif any(verdict for verdict, _ in limits):
                    good += [t for v, t in limits if v and t not in good]
                else:
                    target = unknown if any(v is None for v, _ in limits) else weak
                    text = "; ".join(t for v, t in limits if v is not True)
                    target.setdefault(text, []).append(path.describe())
            evidence["from"] = good
            problems = [f"{text} on {', '.join(paths)}" for text, paths in weak.items()]
            if lacking:
                problems.insert(
                    0,
                    f"no rate limit or quota applies on {', '.join(lacking)}"
                    + (f" (present elsewhere: {'; '.join(good)})" if good else ""),
                )
            if problems:
                yield api.fail(*problems, evidence=evidence)
            elif unknown:
                yield api.error(
                    *(f"{text} on {', '.join(paths)}" for text, paths in unknown.items()),
                    evidence=evidence,
                )
            else:
                yield api.ok(f"rate limited by {'; '.join(good)}", evidence=evidence)


# ---- 14. AI APIs are token limited -----------------------------------------------------------------


_AI_PARAMS = {"ai_host_suffixes": AI_HOST_SUFFIXES}


@rule(
    id="PC-APIM-003",
    title="APIs calling Azure OpenAI enforce a token limit",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=AI_NEEDS,
    params=_AI_PARAMS,
    rationale=(
        "Request counts say nothing about cost: one request can spend a hundred thousand tokens. "
        "Without a token limit one client can exhaust the deployment's quota for everyone."
    ),
    remediation=(
        """
        Limit the tokens each caller may use per minute in the API's inbound policy
        (`azure-openai-token-limit` for APIs that serve Azure OpenAI only):

        ```xml
        <llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="10000" estimate-prompt-tokens="true" />
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/api-management/llm-token-limit-policy"],
)
def ai_apis_token_limited(inv, p):
    """
    ## What it checks
    Every API that calls Azure OpenAI / AI Services enforces `llm-token-limit` or
    `azure-openai-token-limit` on every request path of its effective inbound policy (see
    PC-APIM-002 for how the effective policy is worked out).

    An API calls Azure OpenAI / AI Services when its `serviceUrl`, a `set-backend-service`
    `base-url`, or the backend a `set-backend-service backend-id` names (or a member of that
    backend pool) points at a host ending in one of `ai_host_suffixes` or at the endpoint of a
    Cognitive Services account in scope, or the backend's `resourceId` is such an account.
    NOT_APPLICABLE for a service with no such API.

    Checked against the API Management policy bodies of API versions 2018-01-01 (the document in
    `policyContent`), 2019-01-01 and 2024-05-01 (in `value`, with `format: xml` and the
    portal's leading comment), and the `service/apis` bodies of 2024-05-01.

    ## Example
    Fails: the API's backend is `https://myai.openai.azure.com/openai` and its inbound section only
    has `<base />` and a `rate-limit`.
    Passes:
    ```xml
    <inbound><base /><llm-token-limit counter-key="@(context.Subscription.Id)" tokens-per-minute="60000" /></inbound>
    ```
    """
    yield from _policy_verdicts(
        inv,
        p,
        TOKEN_LIMITS,
        ai_only=True,
        anywhere=False,
        lacking_text="no token limit applies",
        ok_text="token limited by",
        none_text="no API of the service calls Azure OpenAI or AI Services",
    )


# ---- 15. AI token usage is counted ----------------------------------------------------------------


@rule(
    id="PC-APIM-004",
    title="APIs calling Azure OpenAI emit token metrics",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=AI_NEEDS,
    params=_AI_PARAMS,
    rationale=(
        "Without token metrics per caller there is no way to see who spends the quota, to alert "
        "on a runaway client, or to charge back."
    ),
    remediation=(
        """
        Emit token usage per caller from the API's inbound policy (Application Insights must be
        enabled for the API):

        ```xml
        <llm-emit-token-metric namespace="llm">
          <dimension name="Subscription ID" />
        </llm-emit-token-metric>
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/api-management/llm-emit-token-metric-policy"],
)
def ai_apis_emit_token_metrics(inv, p):
    """
    ## What it checks
    Every API that calls Azure OpenAI / AI Services emits `llm-emit-token-metric` or
    `azure-openai-emit-token-metric` on every request path of its effective inbound policy.

    An API calls Azure OpenAI / AI Services when its `serviceUrl`, a `set-backend-service`
    `base-url`, or the backend a `set-backend-service backend-id` names (or a member of that
    backend pool) points at a host ending in one of `ai_host_suffixes` or at the endpoint of a
    Cognitive Services account in scope, or the backend's `resourceId` is such an account.
    NOT_APPLICABLE for a service with no such API.

    Checked against the API Management policy bodies of API versions 2018-01-01 (the document in
    `policyContent`), 2019-01-01 and 2024-05-01 (in `value`, with `format: xml` and the
    portal's leading comment), and the `service/apis` bodies of 2024-05-01.

    ## Example
    Fails: the inbound section has a token limit but no metric.
    Passes:
    ```xml
    <inbound><base /><llm-emit-token-metric namespace="llm"><dimension name="API ID" /></llm-emit-token-metric></inbound>
    ```
    """
    yield from _policy_verdicts(
        inv,
        p,
        TOKEN_METRICS,
        ai_only=True,
        anywhere=False,
        lacking_text="no token metric is emitted",
        ok_text="token usage emitted by",
        none_text="no API of the service calls Azure OpenAI or AI Services",
    )


# ---- 16. caching ------------------------------------------------------------------------------------


@rule(
    id="PC-APIM-005",
    title="APIs calling Azure OpenAI use a response cache",
    checklist=CHECKLIST,
    severity=Severity.LOW,
    needs=AI_NEEDS,
    params=_AI_PARAMS,
    rationale="Common prompts answered from a cache cost no tokens and return in milliseconds.",
    remediation=(
        """
        Cache answers to similar prompts: a semantic cache lookup in the inbound policy and a store in
        the outbound policy (needs an external Redis-compatible cache), or `cache-lookup` and
        `cache-store` for exact matches.

        ```xml
        <inbound>
          <llm-semantic-cache-lookup score-threshold="0.05" embeddings-backend-id="<embeddings-backend>" />
        </inbound>
        <outbound>
          <llm-semantic-cache-store duration="300" />
        </outbound>
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/api-management/azure-openai-enable-semantic-caching"],
)
def ai_apis_cache(inv, p):
    """
    ## What it checks
    Every API that calls Azure OpenAI / AI Services looks responses up in a cache on every
    request path: `llm-semantic-cache-lookup`, `azure-openai-semantic-cache-lookup`,
    `cache-lookup` or `cache-lookup-value` anywhere in the effective inbound policy (a lookup
    inside a condition counts: caching is best effort).

    An API calls Azure OpenAI / AI Services when its `serviceUrl`, a `set-backend-service`
    `base-url`, or the backend a `set-backend-service backend-id` names (or a member of that
    backend pool) points at a host ending in one of `ai_host_suffixes` or at the endpoint of a
    Cognitive Services account in scope, or the backend's `resourceId` is such an account.
    NOT_APPLICABLE for a service with no such API.

    Checked against the API Management policy bodies of API versions 2018-01-01 (the document in
    `policyContent`), 2019-01-01 and 2024-05-01 (in `value`, with `format: xml` and the
    portal's leading comment), and the `service/apis` bodies of 2024-05-01.

    ## Example
    Fails: no cache lookup in the effective inbound policy.
    Passes:
    ```xml
    <inbound><base /><llm-semantic-cache-lookup score-threshold="0.05" embeddings-backend-id="embed" /></inbound>
    ```
    """
    yield from _policy_verdicts(
        inv,
        p,
        CACHE_LOOKUPS,
        ai_only=True,
        anywhere=True,
        lacking_text="no cache lookup",
        ok_text="cached by",
        none_text="no API of the service calls Azure OpenAI or AI Services",
    )


# ---- 17. circuit breaking ----------------------------------------------------------------------


def _covered_codes(backend) -> set[int]:
    codes: set[int] = set()
    for rule_ in backend.get("properties.circuitBreaker.rules", []) or []:
        for code_range in (rule_.get("failureCondition") or {}).get("statusCodeRanges", []) or []:
            try:
                low, high = int(code_range.get("min")), int(code_range.get("max"))
            except (TypeError, ValueError):
                continue
            codes |= set(range(low, high + 1))
    return codes


@rule(
    id="PC-APIM-006",
    title="AI backends break the circuit on throttling and server errors",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=AI_NEEDS,
    params={**_AI_PARAMS, "trip_status_codes": [429, 500, 502, 503, 504]},
    rationale=(
        "When a model deployment throttles or fails, retrying into it makes things worse: a "
        "circuit breaker degrades gracefully, and it is what lets a pool route around the "
        "failing member."
    ),
    remediation=(
        """
        Give the AI backend a circuit breaker that trips on throttling and server errors, or route the
        API to a load-balanced backend pool whose members have one:

        ```bicep
        resource backend 'Microsoft.ApiManagement/service/backends@2024-05-01' = {
          parent: apim
          name: '<backend>'
          properties: {
            url: '<backend-url>'
            protocol: 'http'
            circuitBreaker: {
              rules: [
                {
                  name: 'ai'
                  failureCondition: {
                    count: 3
                    interval: 'PT1M'
                    statusCodeRanges: [ { min: 429, max: 429 }, { min: 500, max: 599 } ]
                  }
                  tripDuration: 'PT1M'
                  acceptRetryAfter: true
                }
              ]
            }
          }
        }
        ```
    """
    ),
    links=["https://learn.microsoft.com/azure/api-management/backends#circuit-breaker"],
)
def ai_backends_break_circuit(inv, p):
    """
    ## What it checks
    Every API that calls Azure OpenAI / AI Services does so through backend entities
    (`set-backend-service backend-id`), and each of those backends defines
    `circuitBreaker.rules` whose `statusCodeRanges` together cover every code of
    `trip_status_codes` (429 and the 5xx server errors). A load-balanced pool (`type: Pool`)
    routes around a member only while that member's circuit is open, so a pool passes only when
    every member it lists (`pool.services[].id`) has such a circuit breaker; a pool without
    members fails, and a member missing from the inventory gives ERROR. An API that calls the
    model by URL (`serviceUrl` or `base-url`) fails: no circuit breaker can apply to it.

    Checked against the backend bodies of API version 2024-05-01 (`type: Pool` with
    `pool.services[].id` as full ARM ids; `/backends/<name>` as templates write them is read too).

    An API calls Azure OpenAI / AI Services when its `serviceUrl`, a `set-backend-service`
    `base-url`, or the backend a `set-backend-service backend-id` names (or a member of that
    backend pool) points at a host ending in one of `ai_host_suffixes` or at the endpoint of a
    Cognitive Services account in scope, or the backend's `resourceId` is such an account.
    NOT_APPLICABLE for a service with no such API.

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.ApiManagement/service/backends", "name": "aoai",
     "properties": {"url": "https://myai.openai.azure.com/openai", "protocol": "http"}}
    ```
    Fails: a pool whose members have no circuit breaker never routes around a throttling one:
    ```json
    {"properties": {"type": "Pool", "pool": {"services": [{"id": "/backends/east", "priority": 1},
      {"id": "/backends/west", "priority": 2}]}}}
    ```
    Passes (a single backend, or every member of the pool):
    ```json
    {"properties": {"url": "https://myai.openai.azure.com/openai", "circuitBreaker": {"rules": [
      {"name": "ai", "failureCondition": {"count": 3, "interval": "PT1M",
       "statusCodeRanges": [{"min": 429, "max": 429}, {"min": 500, "max": 599}]},
       "tripDuration": "PT1M", "acceptRetryAfter": true}]}}}
    ```
    """
    wanted = {int(c) for c in p.trip_status_codes}
    for service, views in _views(inv, p, ai_only=True):
        ai = AiBackends(inv, service, p.ai_host_suffixes)
        if not views:
            yield service.not_applicable("no API of the service calls Azure OpenAI or AI Services")
            continue
        for view in views:
            api = view.api
            evidence = {"service": service.name, "aiRoutes": view.ai_routes}
            if view.errors:
                yield api.error(*view.errors, evidence=evidence)
                continue
            problems, good = [], []
            if view.direct_ai:
                problems.append(
                    "calls the AI endpoint by URL, not through a backend entity, so no circuit "
                    "breaker can apply"
                )
            unknown: list[str] = []
            for backend in view.ai_backends:
                if not _is_pool(backend):
                    _judge_breaker(backend, f"backend {backend.name}", wanted, problems, good)
                    continue
                members = _pool_member_names(backend)
                if not members:
                    problems.append(f"pool {backend.name} has no members")
                for name in members:
                    member = ai.backend(name) if ai is not None else None
                    where = f"member {name} of pool {backend.name}"
                    if member is None:
                        unknown.append(f"{where} is not in the inventory")
                    elif _is_pool(member):
                        problems.append(f"{where} is itself a pool: a pool holds single backends")
                    else:
                        _judge_breaker(member, where, wanted, problems, good)
            evidence["backends"] = [b.name for b in view.ai_backends]
            if problems:
                yield api.fail(*problems, evidence=evidence)
            elif unknown:
                yield api.error(
                    *unknown, "its circuit breaker cannot be verified", evidence=evidence
                )
            else:
                yield api.ok(*good, evidence=evidence)


def _pool_member_names(pool) -> list[str]:
    """The backend names a pool lists (`services[].id` is `/backends/x` or a full ARM id)."""
    services = pool.get("properties.pool.services")
    return [
        str(member.get("id") or "").rstrip("/").rsplit("/", 1)[-1]
        for member in (services if isinstance(services, list) else [])
        if isinstance(member, dict) and member.get("id")
    ]


def _judge_breaker(backend, where: str, wanted: set[int], problems: list, good: list) -> None:
    missing = sorted(wanted - _covered_codes(backend))
    if missing:
        problems.append(
            f"{where} has no circuit breaker rule tripping on {', '.join(map(str, missing))}"
            + (": the pool keeps sending calls to it while it throttles" if "pool" in where else "")
        )
    else:
        good.append(f"{where} trips on {', '.join(map(str, sorted(wanted)))}")


# ---- 18. private and managed identity --------------------------------------------------------------


@rule(
    id="PC-APIM-007",
    title="API Management is private and calls backends with a managed identity",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[SERVICE, PRIVATE_ENDPOINT],
    rationale=(
        "A public gateway can be called around the Application Gateway's WAF; without a managed "
        "identity the gateway needs API keys for the model backends, which leak and never expire."
    ),
    remediation=(
        """
        Take the gateway off the internet: inject it into a virtual network in Internal mode (Developer
        and Premium tiers), or add an approved private endpoint and turn public network access off.
        Give it a managed identity for its calls to Key Vault and the backends.

        ```sh
        az apim update -g {resource_group} -n {name} --virtual-network Internal
        az apim update -g {resource_group} -n {name} --public-network-access false
        az apim update -g {resource_group} -n {name} --enable-managed-identity true
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/api-management/api-management-using-with-internal-vnet",
        "https://learn.microsoft.com/azure/api-management/private-endpoint",
        "https://learn.microsoft.com/azure/api-management/api-management-howto-use-managed-service-identity",
    ],
)
def apim_private_with_identity(inv, p):
    """
    ## What it checks
    Every API Management service is private: `virtualNetworkType: Internal`, or
    `publicNetworkAccess: Disabled` with an approved private endpoint. And it has a managed
    identity (`identity.type` system- or user-assigned), so that it calls Azure OpenAI without
    keys. A tier that cannot be private (Consumption, Basic v2) fails with that reason.

    Checked against the `Microsoft.ApiManagement/service` GET bodies of API versions 2018-01-01
    (neither `publicNetworkAccess` nor `identity`: public, no identity) and 2024-05-01 (identity
    `SystemAssigned, UserAssigned` with a space, a `Pending` private endpoint connection that
    does not count), and the `Microsoft.Network/privateEndpoints` bodies of 2024-05-01.

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.ApiManagement/service", "identity": {"type": "None"},
     "properties": {"virtualNetworkType": "None", "publicNetworkAccess": "Enabled"}}
    ```
    Passes:
    ```json
    {"type": "Microsoft.ApiManagement/service", "identity": {"type": "SystemAssigned"},
     "properties": {"virtualNetworkType": "Internal"}}
    ```
    """
    for service in inv.of_type(SERVICE):
        problems, good = [], []
        vnet = str(service.get("properties.virtualNetworkType", "None") or "None")
        pna = str(service.get("properties.publicNetworkAccess", "Enabled") or "Enabled")
        approved = inv.approved_private_endpoints(service)
        if vnet.lower() == "internal":
            good.append("injected into a virtual network in Internal mode")
        elif pna.lower() == "disabled" and approved:
            good.append(
                "public network access disabled, reached through an approved private endpoint"
            )
        else:
            tier = str(service.sku.get("name", "") or "")
            why = (
                f" (the {tier} tier supports neither)"
                if tier.lower() in ("consumption", "basicv2")
                else ""
            )
            detail = f"virtualNetworkType {vnet}, publicNetworkAccess {pna}"
            if pna.lower() == "disabled" and not approved:
                detail += ", no approved private endpoint"
            problems.append(f"the gateway is public: {detail}{why}")
        identity = str(service.identity.get("type", "") or "None")
        if "assigned" in identity.lower():
            good.append(f"managed identity {identity}")
        else:
            problems.append("no managed identity: backends must be called with keys")
        evidence = service.evidence(
            "properties.virtualNetworkType", "properties.publicNetworkAccess", "identity.type"
        )
        evidence["approvedPrivateEndpoints"] = [link.endpoint_id for link in approved]
        if problems:
            yield service.fail(*problems, evidence=evidence)
        else:
            yield service.ok(*good, evidence=evidence)
