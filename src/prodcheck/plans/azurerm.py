"""azurerm and azapi resources of a Terraform plan, as the ARM resources they create.

Each azurerm type the rules judge has a small table: Terraform attribute → ARM property, the
conversion between them (a boolean to `Enabled`/`Disabled`, an inverted flag such as
`local_auth_enabled` → `disableLocalAuth`), and the provider's default where the plan has no
value. Blocks (lists in the plan) become ARM objects and lists in a few hand-written builders.
A value Terraform knows only after apply makes its ARM property unknown, never a guess.

A type can express less than ARM does (`azurerm_communication_service` has no identity, local
auth or network switch): each mapping lists what it cannot show, and the verdicts that need it
are ERROR. Types without a mapping are counted in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from prodcheck.inventory import UNKNOWN_KEY, CoverageRecord
from prodcheck.plans import ADDRESS_KEY, not_evaluated
from prodcheck.plans.terraform import Instance, decode_body, tf_path

if TYPE_CHECKING:
    from prodcheck.plans.terraform import Plan

Convert = Callable[[Any], Any]


def same(value: Any) -> Any:
    return value


def enabled(value: Any) -> Any:
    """A Terraform boolean as ARM's `Enabled` / `Disabled`."""
    return ("Enabled" if value else "Disabled") if isinstance(value, bool) else value


def inverted(value: Any) -> Any:
    """`local_auth_enabled = true` is `disableLocalAuth: false`."""
    return (not value) if isinstance(value, bool) else value


def title_bool(value: Any) -> Any:
    """API Management's custom properties take the strings "True" / "False"."""
    return ("True" if value else "False") if isinstance(value, bool) else value


def as_list(value: Any) -> Any:
    return value if isinstance(value, list) else [value]


ID = object()  # the attribute holds a resource id: follow references when it is unknown


@dataclass(frozen=True)
class Field:
    tf: str
    arm: str
    convert: Convert | object = same
    # The provider's default when the plan holds null (documented in the provider's schema).
    default: Any = None


@dataclass(frozen=True)
class Mapping:
    arm_type: str
    fields: tuple[Field, ...] = ()
    # How the id is built: "group" (in a resource group), "child" (under `parent`, with
    # `segment`), "extension" (`{parent}/providers/{arm_type}/{name}`).
    placement: str = "group"
    parent: str = ""
    segment: str = ""
    build: Callable[[Body], None] | None = None
    # What the Terraform type cannot express: ARM paths the rules may read, each unknown.
    cannot: tuple[str, ...] = ()
    kind: str = ""


class Body:
    """The ARM resource being built from one Terraform resource instance."""

    def __init__(self, converter: Converter, inst: Instance, raw: dict[str, Any]) -> None:
        self.converter = converter
        self.inst = inst
        self.raw = raw
        self.unknown: list[str] = []
        self.extra: list[dict[str, Any]] = []

    def put(self, arm: str, value: Any) -> None:
        parts = arm.split(".")
        node = self.raw
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[parts[-1]] = value

    def field(self, f: Field) -> None:
        if self.inst.is_unknown(f.tf):
            if f.convert is ID:
                resolved = self.converter.referenced_id(self.inst, f.tf)
                if resolved:
                    self.put(f.arm, resolved)
                    return
            self.unknown.append(f.arm)
            return
        value = self.inst.value(f.tf)
        if value is None:
            value = f.default
        if value is None:
            return
        if f.convert is ID:
            self.put(f.arm, value)
        else:
            assert callable(f.convert)
            self.put(f.arm, f.convert(value))

    def value(self, tf: str) -> Any:
        return self.inst.value(tf)

    def known(self, tf: str) -> bool:
        return not self.inst.is_unknown(tf)

    def id_at(self, tf: str) -> str | None:
        """The resource id at a Terraform attribute path: known, or followed by reference."""
        if not self.inst.is_unknown(tf):
            value = self.inst.value(tf)
            return value if isinstance(value, str) and value else None
        return self.converter.referenced_id(self.inst, tf)


# ---- builders of blocks ------------------------------------------------------------------------


def _identity(b: Body) -> None:
    block = b.value("identity")
    if not isinstance(block, list) or not block:
        if not b.known("identity"):
            b.unknown.append("identity")
        return
    first = block[0] if isinstance(block[0], dict) else {}
    identity: dict[str, Any] = {"type": first.get("type") or "None"}
    # Known for an identity that exists (a no-op or an update), "known after apply" otherwise.
    if isinstance(first.get("principal_id"), str) and first["principal_id"]:
        identity["principalId"] = first["principal_id"]
    elif "systemassigned" in str(identity["type"]).replace(" ", "").lower() and not b.known(
        "identity[0].principal_id"
    ):
        b.unknown.append("identity.principalId")
    ids = first.get("identity_ids")
    if isinstance(ids, list) and ids:
        users: dict[str, Any] = {}
        for i, value in enumerate(ids):
            rid = value if isinstance(value, str) else b.id_at(f"identity[0].identity_ids[{i}]")
            users[rid or f"(identity {i + 1} of {b.inst.address})"] = {}
        identity["userAssignedIdentities"] = users
    elif not b.known("identity[0].identity_ids"):
        b.unknown.append("identity.userAssignedIdentities")
    b.raw["identity"] = identity


def _network_acls(b: Body, tf: str, arm: str, ip_key: str = "ipRules") -> None:
    block = b.value(tf)
    if not b.known(tf):
        b.unknown.append(arm)
        return
    if not isinstance(block, list) or not block or not isinstance(block[0], dict):
        return
    first = block[0]
    acls: dict[str, Any] = {"defaultAction": first.get("default_action") or "Allow"}
    if first.get("bypass") is not None:
        bypass = first["bypass"]
        acls["bypass"] = ", ".join(bypass) if isinstance(bypass, list) else bypass
    ips = first.get("ip_rules") or []
    acls[ip_key] = [{"value": ip} for ip in ips if isinstance(ip, str)]
    subnets = first.get("virtual_network_subnet_ids") or []
    acls["virtualNetworkRules"] = [{"id": s} for s in subnets if isinstance(s, str)]
    b.put(arm, acls)


def _key_vault(b: Body) -> None:
    # The provider always sends enableSoftDelete: true; RBAC has two spellings in 4.x.
    b.put("properties.enableSoftDelete", True)
    for name in ("rbac_authorization_enabled", "enable_rbac_authorization"):
        if b.known(name) and isinstance(b.value(name), bool):
            b.put("properties.enableRbacAuthorization", b.value(name))
            break
    else:
        if not (b.known("rbac_authorization_enabled") or b.known("enable_rbac_authorization")):
            b.unknown.append("properties.enableRbacAuthorization")
    _network_acls(b, "network_acls", "properties.networkAcls")


def _cognitive_account(b: Body) -> None:
    _identity(b)
    _network_acls(b, "network_acls", "properties.networkAcls")


def _storage_account(b: Body) -> None:
    _identity(b)
    tier, replication = b.value("account_tier"), b.value("account_replication_type")
    if isinstance(tier, str) and isinstance(replication, str):
        b.raw["sku"] = {"name": f"{tier}_{replication}", "tier": tier}
    _network_acls(b, "network_rules", "properties.networkAcls")
    # Blob soft delete lives on the blobServices/default child in ARM.
    blob = b.value("blob_properties")
    if isinstance(blob, list) and blob and isinstance(blob[0], dict):
        policy = blob[0].get("delete_retention_policy")
        days = (
            policy[0].get("days")
            if isinstance(policy, list) and policy and isinstance(policy[0], dict)
            else None
        )
        props: dict[str, Any] = {
            "deleteRetentionPolicy": {"enabled": days is not None, "days": days or 0}
        }
        b.extra.append(
            {
                "id": f"{b.raw['id']}/blobServices/default",
                "name": "default",
                "type": "Microsoft.Storage/storageAccounts/blobServices",
                "properties": props,
            }
        )


def _container_app(b: Body) -> None:
    _identity(b)
    ingress = b.value("ingress")
    if not b.known("ingress[0].external_enabled") and isinstance(ingress, list) and ingress:
        b.unknown.append("properties.configuration.ingress.external")
    if isinstance(ingress, list) and ingress and isinstance(ingress[0], dict):
        first = ingress[0]
        out: dict[str, Any] = {
            "external": bool(first.get("external_enabled", False)),
            "targetPort": first.get("target_port"),
            "transport": first.get("transport") or "auto",
            "allowInsecure": bool(first.get("allow_insecure_connections", False)),
            "ipSecurityRestrictions": [
                {
                    "name": r.get("name"),
                    "action": r.get("action"),
                    "ipAddressRange": r.get("ip_address_range"),
                }
                for r in first.get("ip_security_restriction") or []
                if isinstance(r, dict)
            ]
            or None,
        }
        b.put("properties.configuration.ingress", out)
    secrets = []
    for i, s in enumerate(b.value("secret") or []):
        if not isinstance(s, dict):
            continue
        secret: dict[str, Any] = {"name": s.get("name")}
        if s.get("key_vault_secret_id"):
            secret["keyVaultUrl"] = s["key_vault_secret_id"]
            secret["identity"] = s.get("identity")
        elif not b.known(f"secret[{i}].key_vault_secret_id"):
            b.unknown.append(f"properties.configuration.secrets[{i}].keyVaultUrl")
        secrets.append(secret)
    b.put("properties.configuration.secrets", secrets or None)
    registries = []
    for i, r in enumerate(b.value("registry") or []):
        if not isinstance(r, dict):
            continue
        server = r.get("server") if b.known(f"registry[{i}].server") else None
        server = server or _stand_in(b, f"registry[{i}].server")
        identity = r.get("identity") if b.known(f"registry[{i}].identity") else None
        identity = identity or b.id_at(f"registry[{i}].identity")
        if server is None:
            b.unknown.append(f"properties.configuration.registries[{i}].server")
        if identity is None and not b.known(f"registry[{i}].identity"):
            b.unknown.append(f"properties.configuration.registries[{i}].identity")
        registries.append(
            {
                "server": server,
                "identity": identity,
                "username": r.get("username") or "",
                "passwordSecretRef": r.get("password_secret_name") or "",
            }
        )
    b.put("properties.configuration.registries", registries or None)
    template = b.value("template")
    if not isinstance(template, list) or not template or not isinstance(template[0], dict):
        if not b.known("template"):
            b.unknown.append("properties.template")
        return
    t = template[0]
    scale: dict[str, Any] = {
        "minReplicas": t.get("min_replicas") if t.get("min_replicas") is not None else 0,
        "maxReplicas": t.get("max_replicas") if t.get("max_replicas") is not None else 10,
    }
    rules: list[dict[str, Any]] = []
    for rule in t.get("http_scale_rule") or []:
        if isinstance(rule, dict):
            rules.append(
                {
                    "name": rule.get("name"),
                    "http": {"metadata": {"concurrentRequests": rule.get("concurrent_requests")}},
                }
            )
    for rule in t.get("custom_scale_rule") or []:
        if isinstance(rule, dict):
            rules.append(
                {
                    "name": rule.get("name"),
                    "custom": {
                        "type": rule.get("custom_rule_type"),
                        "metadata": rule.get("metadata") or {},
                    },
                }
            )
    for rule in t.get("tcp_scale_rule") or []:
        if isinstance(rule, dict):
            rules.append(
                {
                    "name": rule.get("name"),
                    "tcp": {"metadata": {"concurrentConnections": rule.get("concurrent_requests")}},
                }
            )
    for rule in t.get("azure_queue_scale_rule") or []:
        if isinstance(rule, dict):
            rules.append(
                {
                    "name": rule.get("name"),
                    "azureQueue": {
                        "queueName": rule.get("queue_name"),
                        "queueLength": rule.get("queue_length"),
                    },
                }
            )
    scale["rules"] = rules or None
    containers = []
    for c, container in enumerate(t.get("container") or []):
        if not isinstance(container, dict):
            continue
        env = []
        for e, var in enumerate(container.get("env") or []):
            if not isinstance(var, dict):
                continue
            item: dict[str, Any] = {"name": var.get("name")}
            if var.get("secret_name"):
                item["secretRef"] = var["secret_name"]
            elif b.known(f"template[0].container[{c}].env[{e}].value"):
                item["value"] = var.get("value")
            else:
                known_as = _stand_in(b, f"template[0].container[{c}].env[{e}].value")
                if known_as is None:
                    b.unknown.append(f"properties.template.containers[{c}].env[{e}].value")
                else:
                    item["value"] = known_as
            env.append(item)
        containers.append(
            {
                "name": container.get("name"),
                "image": container.get("image"),
                "resources": {
                    "cpu": container.get("cpu"),
                    "memory": container.get("memory"),
                },
                "env": env,
            }
        )
    b.put("properties.template", {"containers": containers, "scale": scale})
    if not b.known("template[0].min_replicas"):
        b.unknown.append("properties.template.scale.minReplicas")
    if not b.known("template[0].max_replicas"):
        b.unknown.append("properties.template.scale.maxReplicas")


# Attributes whose value is unknown before apply but whose nature the reference tells: an app
# setting set from a component's connection string holds that connection string, a registry
# server set from a registry's login server is `<name>.azurecr.io`. None of them is a secret.
_STAND_INS: dict[tuple[str, str], Callable[[str], str]] = {
    ("azurerm_application_insights", "connection_string"): lambda name: (
        "InstrumentationKey=(known after apply);IngestionEndpoint=(known after apply)"
    ),
    ("azurerm_container_registry", "login_server"): lambda name: f"{name}.azurecr.io",
    ("azurerm_app_configuration", "endpoint"): lambda name: f"https://{name}.azconfig.io",
    ("azurerm_user_assigned_identity", "client_id"): lambda name: (
        f"(client id of identity {name}, known after apply)"
    ),
    ("azurerm_user_assigned_identity", "principal_id"): lambda name: (
        f"(principal id of identity {name}, known after apply)"
    ),
}


def _stand_in(b: Body, tf: str) -> str | None:
    """What an unknown value is known to be from the attribute its expression reads."""
    config = b.converter.plan.configuration
    for ref in config.references(b.inst.config_address, tf_path(tf)):
        attr = ref.rsplit(".", 1)[-1]
        target = b.converter.plan.referenced_by(ref, b.inst)
        if target is None:
            continue
        make = _STAND_INS.get((target.type, attr))
        if make is not None:
            return make(b.converter.name_of(target))
    return None


def _container_app_environment(b: Body) -> None:
    workspace = b.converter.referenced(b.inst, "log_analytics_workspace_id")
    if b.value("log_analytics_workspace_id") or workspace is not None:
        b.put("properties.appLogsConfiguration.destination", "log-analytics")
        b.put(
            "properties.appLogsConfiguration.logAnalyticsConfiguration.customerId",
            _customer_id(workspace.address) if workspace else "(known after apply)",
        )
        if workspace is None and not b.known("log_analytics_workspace_id"):
            b.unknown.append("properties.appLogsConfiguration.logAnalyticsConfiguration")
    subnet = b.id_at("infrastructure_subnet_id")
    if subnet:
        b.put("properties.vnetConfiguration.infrastructureSubnetId", subnet)
        b.put(
            "properties.vnetConfiguration.internal",
            bool(b.value("internal_load_balancer_enabled")),
        )
    elif not b.known("infrastructure_subnet_id"):
        b.unknown.append("properties.vnetConfiguration")


def _customer_id(address: str) -> str:
    """A stand-in for a workspace's customer id, shared by the workspace and its users."""
    return f"(customer id of {address})"


def _workspace(b: Body) -> None:
    b.put("properties.customerId", _customer_id(b.inst.address))


def _diagnostic_setting(b: Body) -> None:
    logs = []
    for entry in b.value("enabled_log") or []:
        if isinstance(entry, dict):
            log: dict[str, Any] = {"enabled": True}
            if entry.get("category"):
                log["category"] = entry["category"]
            if entry.get("category_group"):
                log["categoryGroup"] = entry["category_group"]
            logs.append(log)
    metrics = [
        {"category": m.get("category"), "enabled": True}
        for m in (b.value("enabled_metric") or b.value("metric") or [])
        if isinstance(m, dict)
    ]
    b.put("properties.logs", logs)
    b.put("properties.metrics", metrics)


def _metric_alert(b: Body) -> None:
    scopes = []
    planned = b.value("scopes")
    if not isinstance(planned, list):
        # The whole list is known only after apply: at least one scope, none linked.
        planned = [None] if not b.known("scopes") else []
    for i, _ in enumerate(planned):
        scope = b.id_at(f"scopes[{i}]")
        if scope is None:
            # Which resource it watches is known only after apply: the verdicts that look for
            # an alert on a resource cannot rule this one out.
            b.unknown.append("properties.scopes")
            b.converter.gaps.append(
                not_evaluated(
                    "Microsoft.Insights/metricAlerts",
                    b.raw["id"],
                    f"{b.inst.address}: the resource it watches is known only after apply and "
                    "no reference in the configuration names it",
                )
            )
            continue
        scopes.append(scope)
    if not scopes and not b.known("scopes"):
        b.unknown.append("properties.scopes")
    b.put("properties.scopes", scopes)
    criteria = []
    for c in b.value("criteria") or []:
        if isinstance(c, dict):
            criteria.append(
                {
                    "criterionType": "StaticThresholdCriterion",
                    "name": c.get("metric_name"),
                    "metricName": c.get("metric_name"),
                    "metricNamespace": c.get("metric_namespace"),
                    "operator": c.get("operator"),
                    "threshold": c.get("threshold"),
                    "timeAggregation": c.get("aggregation"),
                    "skipMetricValidation": bool(c.get("skip_metric_validation")),
                }
            )
    b.put(
        "properties.criteria",
        {
            "odata.type": "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria",
            "allOf": criteria,
        },
    )
    actions = []
    for i, a in enumerate(b.value("action") or []):
        if isinstance(a, dict):
            group = b.id_at(f"action[{i}].action_group_id")
            if group is None:
                b.unknown.append(f"properties.actions[{i}].actionGroupId")
            actions.append({"actionGroupId": group or ""})
    b.put("properties.actions", actions)


def _action_group(b: Body) -> None:
    b.put(
        "properties.emailReceivers",
        [
            {"name": r.get("name"), "emailAddress": r.get("email_address")}
            for r in b.value("email_receiver") or []
            if isinstance(r, dict)
        ],
    )
    b.put(
        "properties.armRoleReceivers",
        [
            {"name": r.get("name"), "roleId": r.get("role_id")}
            for r in b.value("arm_role_receiver") or []
            if isinstance(r, dict)
        ],
    )
    b.put(
        "properties.webhookReceivers",
        [
            {"name": r.get("name"), "serviceUri": r.get("service_uri")}
            for r in b.value("webhook_receiver") or []
            if isinstance(r, dict)
        ],
    )


def _private_endpoint(b: Body) -> None:
    connections: list[dict[str, Any]] = []
    manual: list[dict[str, Any]] = []
    for i, conn in enumerate(b.value("private_service_connection") or []):
        if not isinstance(conn, dict):
            continue
        target = b.id_at(f"private_service_connection[{i}].private_connection_resource_id")
        if target is None:
            b.converter.gaps.append(
                not_evaluated(
                    "Microsoft.Network/privateEndpoints",
                    b.raw["id"],
                    f"{b.inst.address}: the resource it connects to is known only after apply "
                    "and no reference in the configuration names it",
                )
            )
            continue
        entry = {
            "name": conn.get("name"),
            "properties": {
                "privateLinkServiceId": target,
                "groupIds": conn.get("subresource_names"),
            },
        }
        (manual if conn.get("is_manual_connection") else connections).append(entry)
    b.put("properties.privateLinkServiceConnections", connections)
    b.put("properties.manualPrivateLinkServiceConnections", manual)
    subnet = b.id_at("subnet_id")
    if subnet:
        b.put("properties.subnet.id", subnet)
    elif not b.known("subnet_id"):
        b.unknown.append("properties.subnet")
    # The DNS zone group is its own ARM resource, which the provider creates with a second call.
    for g, group in enumerate(b.value("private_dns_zone_group") or []):
        if not isinstance(group, dict):
            continue
        configs = []
        for z, _ in enumerate(group.get("private_dns_zone_ids") or []):
            zone = b.id_at(f"private_dns_zone_group[{g}].private_dns_zone_ids[{z}]")
            configs.append(
                {
                    "name": (zone or "").rsplit("/", 1)[-1].replace(".", "-") or f"zone-{z}",
                    "properties": {"privateDnsZoneId": zone or ""},
                }
            )
        name = str(group.get("name") or "default")
        b.extra.append(
            {
                "id": f"{b.raw['id']}/privateDnsZoneGroups/{name}",
                "name": name,
                "type": "Microsoft.Network/privateEndpoints/privateDnsZoneGroups",
                "properties": {"privateDnsZoneConfigs": configs},
                ADDRESS_KEY: f"{b.inst.address}.private_dns_zone_group",
            }
        )


def _api_management(b: Body) -> None:
    _identity(b)
    sku = b.value("sku_name")
    if isinstance(sku, str) and "_" in sku:
        name, capacity = sku.split("_", 1)
        b.raw["sku"] = {"name": name, "capacity": int(capacity) if capacity.isdigit() else capacity}
    security = b.value("security")
    prefix = "Microsoft.WindowsAzure.ApiManagement.Gateway.Security."
    if isinstance(security, list) and security and isinstance(security[0], dict):
        s = security[0]
        table = {
            "frontend_ssl30_enabled": "Protocols.Ssl30",
            "frontend_tls10_enabled": "Protocols.Tls10",
            "frontend_tls11_enabled": "Protocols.Tls11",
            "backend_ssl30_enabled": "Backend.Protocols.Ssl30",
            "backend_tls10_enabled": "Backend.Protocols.Tls10",
            "backend_tls11_enabled": "Backend.Protocols.Tls11",
            "triple_des_ciphers_enabled": "Ciphers.TripleDes168",
        }
        custom = {prefix + arm: title_bool(bool(s.get(tf))) for tf, arm in table.items()}
        b.put("properties.customProperties", custom)
    vnet = b.value("virtual_network_configuration")
    if isinstance(vnet, list) and vnet and isinstance(vnet[0], dict):
        subnet = b.id_at("virtual_network_configuration[0].subnet_id")
        b.put("properties.virtualNetworkConfiguration.subnetResourceId", subnet or "")


def _apim_child_id(b: Body, segments: list[tuple[str, str]]) -> str:
    """`service/{apim}/apis/{api}/policies/policy` from the names Terraform gives."""
    group = b.converter.group_of(b.inst)
    rid = (
        f"/subscriptions/{b.converter.subscription}/resourceGroups/{group}"
        "/providers/Microsoft.ApiManagement/service"
    )
    for segment, tf in segments:
        value = b.value(tf) if tf else "policy"
        if not isinstance(value, str) or not b.known(tf or "id"):
            value = f"({b.inst.address}.{tf})"
        rid += f"/{value}" if segment == "service" else f"/{segment}/{value}"
    return rid


def _apim_policy(b: Body) -> None:
    xml = b.value("xml_content")
    if isinstance(xml, str):
        b.put("properties.format", "rawxml")
        b.put("properties.value", xml)
    elif b.value("xml_link"):
        b.put("properties.format", "rawxml-link")
        b.put("properties.value", b.value("xml_link"))
        b.unknown.append("properties.value")
    elif not b.known("xml_content"):
        b.unknown.append("properties.value")


def _application_gateway(b: Body) -> None:
    _identity(b)
    sku = b.value("sku")
    if isinstance(sku, list) and sku and isinstance(sku[0], dict):
        b.put(
            "properties.sku",
            {
                "name": sku[0].get("name"),
                "tier": sku[0].get("tier"),
                "capacity": sku[0].get("capacity"),
            },
        )
    waf = b.value("waf_configuration")
    if isinstance(waf, list) and waf and isinstance(waf[0], dict):
        w = waf[0]
        b.put(
            "properties.webApplicationFirewallConfiguration",
            {
                "enabled": bool(w.get("enabled")),
                "firewallMode": w.get("firewall_mode"),
                "ruleSetType": w.get("rule_set_type") or "OWASP",
                "ruleSetVersion": w.get("rule_set_version"),
                "requestBodyCheck": w.get("request_body_check", True),
            },
        )
    policy = b.id_at("firewall_policy_id")
    if policy:
        b.put("properties.firewallPolicy.id", policy)
    elif b.value("firewall_policy_id") is None and not b.known("firewall_policy_id"):
        b.unknown.append("properties.firewallPolicy")
    ssl = b.value("ssl_policy")
    if isinstance(ssl, list) and ssl and isinstance(ssl[0], dict):
        s = ssl[0]
        b.put(
            "properties.sslPolicy",
            {
                k: v
                for k, v in {
                    "policyType": s.get("policy_type"),
                    "policyName": s.get("policy_name"),
                    "minProtocolVersion": s.get("min_protocol_version"),
                }.items()
                if v
            },
        )
    listeners = []
    for listener in b.value("http_listener") or []:
        if isinstance(listener, dict):
            listeners.append(
                {
                    "name": listener.get("name"),
                    "properties": {
                        "protocol": listener.get("protocol"),
                        "hostName": listener.get("host_name"),
                    },
                }
            )
    b.put("properties.httpListeners", listeners)
    frontends = []
    for i, fe in enumerate(b.value("frontend_ip_configuration") or []):
        if isinstance(fe, dict):
            pip = b.id_at(f"frontend_ip_configuration[{i}].public_ip_address_id")
            props: dict[str, Any] = {}
            if pip:
                props["publicIPAddress"] = {"id": pip}
            if fe.get("private_ip_address"):
                props["privateIPAddress"] = fe["private_ip_address"]
            frontends.append({"name": fe.get("name"), "properties": props})
    b.put("properties.frontendIPConfigurations", frontends)


def _waf_policy(b: Body) -> None:
    settings = b.value("policy_settings")
    s = (
        settings[0]
        if isinstance(settings, list) and settings and isinstance(settings[0], dict)
        else {}
    )
    b.put(
        "properties.policySettings",
        {
            "state": enabled(s.get("enabled", True)),
            "mode": s.get("mode") or "Prevention",
            "requestBodyCheck": s.get("request_body_check", True),
        },
    )
    managed = b.value("managed_rules")
    sets: list[dict[str, Any]] = []
    if isinstance(managed, list) and managed and isinstance(managed[0], dict):
        for rule_set in managed[0].get("managed_rule_set") or []:
            if isinstance(rule_set, dict):
                sets.append(
                    {
                        "ruleSetType": rule_set.get("type") or "OWASP",
                        "ruleSetVersion": rule_set.get("version"),
                        "ruleGroupOverrides": [],
                    }
                )
    b.put("properties.managedRules", {"managedRuleSets": sets, "exclusions": []})
    b.put("properties.customRules", [])


def _role_assignment(b: Body) -> None:
    principal = b.value("principal_id") if b.known("principal_id") else None
    principal = principal or _stand_in(b, "principal_id")
    if principal is None:
        b.unknown.append("properties.principalId")
    b.put("properties.principalId", principal or "")
    b.put("properties.roleDefinitionName", b.value("role_definition_name"))


def _managed_redis(b: Body) -> None:
    _identity(b)
    sku = b.value("sku_name")
    if isinstance(sku, str):
        b.raw["sku"] = {"name": sku}
    db = b.value("default_database")
    if isinstance(db, list) and db and isinstance(db[0], dict):
        d = db[0]
        b.extra.append(
            {
                "id": f"{b.raw['id']}/databases/default",
                "name": "default",
                "type": "Microsoft.Cache/redisEnterprise/databases",
                "properties": {
                    "clientProtocol": d.get("client_protocol") or "Encrypted",
                    "port": 10000,
                    "accessKeysAuthentication": enabled(
                        bool(d.get("access_keys_authentication_enabled", False))
                    ),
                },
                ADDRESS_KEY: f"{b.inst.address}.default_database",
            }
        )


PNA = "properties.publicNetworkAccess"

MAPPINGS: dict[str, Mapping] = {
    "azurerm_user_assigned_identity": Mapping("Microsoft.ManagedIdentity/userAssignedIdentities"),
    "azurerm_log_analytics_workspace": Mapping(
        "Microsoft.OperationalInsights/workspaces",
        (
            Field("sku", "properties.sku.name", same, "PerGB2018"),
            Field("retention_in_days", "properties.retentionInDays"),
            Field("local_authentication_enabled", "properties.features.disableLocalAuth", inverted),
            Field("local_authentication_disabled", "properties.features.disableLocalAuth"),
            Field(
                "internet_ingestion_enabled",
                "properties.publicNetworkAccessForIngestion",
                enabled,
                True,
            ),
            Field(
                "internet_query_enabled", "properties.publicNetworkAccessForQuery", enabled, True
            ),
        ),
        build=_workspace,
    ),
    "azurerm_application_insights": Mapping(
        "Microsoft.Insights/components",
        (
            Field("application_type", "properties.Application_Type"),
            Field("workspace_id", "properties.WorkspaceResourceId", ID),
            Field("local_authentication_disabled", "properties.DisableLocalAuth", same, False),
            Field("local_authentication_enabled", "properties.DisableLocalAuth", inverted),
            Field(
                "internet_ingestion_enabled",
                "properties.publicNetworkAccessForIngestion",
                enabled,
                True,
            ),
            Field(
                "internet_query_enabled", "properties.publicNetworkAccessForQuery", enabled, True
            ),
        ),
        kind="web",
    ),
    "azurerm_key_vault": Mapping(
        "Microsoft.KeyVault/vaults",
        (
            Field("sku_name", "properties.sku.name"),
            Field("tenant_id", "properties.tenantId"),
            Field("public_network_access_enabled", PNA, enabled, True),
            Field("purge_protection_enabled", "properties.enablePurgeProtection", same, False),
            Field("soft_delete_retention_days", "properties.softDeleteRetentionInDays", same, 90),
        ),
        build=_key_vault,
    ),
    "azurerm_app_configuration": Mapping(
        "Microsoft.AppConfiguration/configurationStores",
        (
            Field("sku", "sku.name", same, "free"),
            Field("local_auth_enabled", "properties.disableLocalAuth", inverted, True),
            Field("public_network_access", PNA),
            Field("purge_protection_enabled", "properties.enablePurgeProtection", same, False),
            Field("soft_delete_retention_days", "properties.softDeleteRetentionInDays", same, 7),
        ),
        build=_identity,
    ),
    "azurerm_container_registry": Mapping(
        "Microsoft.ContainerRegistry/registries",
        (
            Field("sku", "sku.name"),
            Field("admin_enabled", "properties.adminUserEnabled", same, False),
            Field("public_network_access_enabled", PNA, enabled, True),
            Field("anonymous_pull_enabled", "properties.anonymousPullEnabled", same, False),
            Field("zone_redundancy_enabled", "properties.zoneRedundancy", enabled, False),
        ),
        build=_identity,
    ),
    "azurerm_container_app_environment": Mapping(
        "Microsoft.App/managedEnvironments",
        (
            Field("zone_redundancy_enabled", "properties.zoneRedundant", same, False),
            Field("public_network_access", PNA),
        ),
        build=_container_app_environment,
    ),
    "azurerm_container_app": Mapping(
        "Microsoft.App/containerApps",
        (
            Field("container_app_environment_id", "properties.managedEnvironmentId", ID),
            Field("container_app_environment_id", "properties.environmentId", ID),
            Field("revision_mode", "properties.configuration.activeRevisionsMode"),
        ),
        build=_container_app,
    ),
    "azurerm_cognitive_account": Mapping(
        "Microsoft.CognitiveServices/accounts",
        (
            Field("kind", "kind"),
            Field("sku_name", "sku.name"),
            Field("public_network_access_enabled", PNA, enabled, True),
            Field("local_auth_enabled", "properties.disableLocalAuth", inverted, True),
            Field("custom_subdomain_name", "properties.customSubDomainName"),
            Field("outbound_network_access_restricted", "properties.restrictOutboundNetworkAccess"),
        ),
        build=_cognitive_account,
    ),
    "azurerm_cognitive_deployment": Mapping(
        "Microsoft.CognitiveServices/accounts/deployments",
        (
            Field("model[0].format", "properties.model.format"),
            Field("model[0].name", "properties.model.name"),
            Field("model[0].version", "properties.model.version"),
            Field("sku[0].name", "sku.name"),
            Field("sku[0].capacity", "sku.capacity"),
            Field("rai_policy_name", "properties.raiPolicyName"),
            Field("version_upgrade_option", "properties.versionUpgradeOption"),
        ),
        placement="child",
        parent="cognitive_account_id",
        segment="deployments",
    ),
    "azurerm_storage_account": Mapping(
        "Microsoft.Storage/storageAccounts",
        (
            Field("account_kind", "kind", same, "StorageV2"),
            Field("public_network_access_enabled", PNA, enabled, True),
            Field("min_tls_version", "properties.minimumTlsVersion", same, "TLS1_2"),
            Field(
                "allow_nested_items_to_be_public", "properties.allowBlobPublicAccess", same, True
            ),
            Field("shared_access_key_enabled", "properties.allowSharedKeyAccess", same, True),
            Field("https_traffic_only_enabled", "properties.supportsHttpsTrafficOnly", same, True),
        ),
        build=_storage_account,
    ),
    "azurerm_redis_cache": Mapping(
        "Microsoft.Cache/redis",
        (
            Field("sku_name", "properties.sku.name"),
            Field("family", "properties.sku.family"),
            Field("capacity", "properties.sku.capacity"),
            Field("minimum_tls_version", "properties.minimumTlsVersion", same, "1.0"),
            Field("non_ssl_port_enabled", "properties.enableNonSslPort", same, False),
            Field(
                "access_keys_authentication_enabled",
                "properties.disableAccessKeyAuthentication",
                inverted,
                True,
            ),
            Field("public_network_access_enabled", PNA, enabled, True),
            Field("zones", "zones"),
        ),
        build=_identity,
    ),
    "azurerm_managed_redis": Mapping(
        "Microsoft.Cache/redisEnterprise",
        (
            Field("high_availability_enabled", "properties.highAvailability", enabled, True),
            Field("public_network_access", PNA, same, "Enabled"),
        ),
        build=_managed_redis,
    ),
    "azurerm_mongo_cluster": Mapping(
        "Microsoft.DocumentDB/mongoClusters",
        (
            Field("public_network_access", PNA, same, "Enabled"),
            Field("authentication_methods", "properties.authConfig.allowedModes"),
            Field("high_availability_mode", "properties.highAvailability.targetMode"),
            Field("compute_tier", "properties.compute.tier"),
            Field("version", "properties.serverVersion"),
        ),
    ),
    "azurerm_mongo_cluster_firewall_rule": Mapping(
        "Microsoft.DocumentDB/mongoClusters/firewallRules",
        (
            Field("start_ip_address", "properties.startIpAddress"),
            Field("end_ip_address", "properties.endIpAddress"),
        ),
        placement="child",
        parent="mongo_cluster_id",
        segment="firewallRules",
    ),
    "azurerm_communication_service": Mapping(
        "Microsoft.Communication/communicationServices",
        (Field("data_location", "properties.dataLocation"),),
        cannot=("identity", "properties.disableLocalAuth", PNA),
    ),
    "azurerm_monitor_diagnostic_setting": Mapping(
        "Microsoft.Insights/diagnosticSettings",
        (
            Field("log_analytics_workspace_id", "properties.workspaceId", ID),
            Field("storage_account_id", "properties.storageAccountId", ID),
            Field("eventhub_authorization_rule_id", "properties.eventHubAuthorizationRuleId", ID),
            Field("log_analytics_destination_type", "properties.logAnalyticsDestinationType"),
        ),
        placement="extension",
        parent="target_resource_id",
        build=_diagnostic_setting,
    ),
    "azurerm_monitor_metric_alert": Mapping(
        "Microsoft.Insights/metricAlerts",
        (
            Field("enabled", "properties.enabled", same, True),
            Field("severity", "properties.severity", same, 3),
            Field("frequency", "properties.evaluationFrequency", same, "PT1M"),
            Field("window_size", "properties.windowSize", same, "PT5M"),
            Field("auto_mitigate", "properties.autoMitigate", same, True),
            Field("target_resource_type", "properties.targetResourceType"),
        ),
        build=_metric_alert,
    ),
    "azurerm_monitor_action_group": Mapping(
        "Microsoft.Insights/actionGroups",
        (
            Field("short_name", "properties.groupShortName"),
            Field("enabled", "properties.enabled", same, True),
        ),
        build=_action_group,
    ),
    "azurerm_private_endpoint": Mapping(
        "Microsoft.Network/privateEndpoints",
        build=_private_endpoint,
    ),
    "azurerm_api_management": Mapping(
        "Microsoft.ApiManagement/service",
        (
            Field("public_network_access_enabled", PNA, enabled, True),
            Field("virtual_network_type", "properties.virtualNetworkType", same, "None"),
            Field("publisher_name", "properties.publisherName"),
            Field("publisher_email", "properties.publisherEmail"),
            Field("zones", "zones"),
        ),
        build=_api_management,
    ),
    "azurerm_api_management_api": Mapping(
        "Microsoft.ApiManagement/service/apis",
        (
            Field("display_name", "properties.displayName"),
            Field("path", "properties.path"),
            Field("protocols", "properties.protocols"),
            Field("service_url", "properties.serviceUrl"),
            Field("subscription_required", "properties.subscriptionRequired", same, True),
        ),
        placement="apim",
    ),
    "azurerm_api_management_api_policy": Mapping(
        "Microsoft.ApiManagement/service/apis/policies",
        placement="apim",
        build=_apim_policy,
    ),
    "azurerm_api_management_policy": Mapping(
        "Microsoft.ApiManagement/service/policies",
        placement="apim",
        build=_apim_policy,
    ),
    "azurerm_application_gateway": Mapping(
        "Microsoft.Network/applicationGateways",
        (Field("zones", "zones"),),
        build=_application_gateway,
    ),
    "azurerm_web_application_firewall_policy": Mapping(
        "Microsoft.Network/ApplicationGatewayWebApplicationFirewallPolicies",
        build=_waf_policy,
    ),
    "azurerm_email_communication_service": Mapping(
        "Microsoft.Communication/emailServices",
        (Field("data_location", "properties.dataLocation"),),
    ),
    "azurerm_eventgrid_system_topic": Mapping(
        "Microsoft.EventGrid/systemTopics",
        (
            Field("source_resource_id", "properties.source", ID),
            Field("source_arm_resource_id", "properties.source", ID),
            Field("topic_type", "properties.topicType"),
        ),
        build=_identity,
    ),
    "azurerm_role_assignment": Mapping(
        "Microsoft.Authorization/roleAssignments",
        placement="extension",
        parent="scope",
        build=_role_assignment,
    ),
}

# Types that are plan context, not resources to judge (or data-plane objects ARM never lists).
CONTEXT = {
    "azurerm_resource_group",
    "azurerm_client_config",
    "azurerm_key_vault_secret",
    "azurerm_key_vault_key",
    "azurerm_app_configuration_key",
    "azurerm_storage_container",
    "azapi_resource_action",
    "random_string",
    "random_password",
    "random_id",
    "random_uuid",
    "time_sleep",
    "time_rotating",
    "null_resource",
    "terraform_data",
    "local_file",
}

# Types without a mapping whose ARM type the rules may need: the plan has them, prodcheck
# cannot show them, so the verdicts needing them are ERROR instead of judging their absence.
UNMAPPED_ARM = {
    "azurerm_virtual_network": "Microsoft.Network/virtualNetworks",
    "azurerm_subnet": "Microsoft.Network/virtualNetworks/subnets",
    "azurerm_private_dns_zone": "Microsoft.Network/privateDnsZones",
    "azurerm_public_ip": "Microsoft.Network/publicIPAddresses",
    "azurerm_monitor_scheduled_query_rules_alert_v2": "Microsoft.Insights/scheduledQueryRules",
    "azurerm_application_insights_standard_web_test": "Microsoft.Insights/webtests",
    "azurerm_application_insights_workbook": "Microsoft.Insights/workbooks",
    "azurerm_servicebus_namespace": "Microsoft.ServiceBus/namespaces",
    "azurerm_eventhub_namespace": "Microsoft.EventHub/namespaces",
    "azurerm_signalr_service": "Microsoft.SignalRService/signalR",
    "azurerm_api_management_backend": "Microsoft.ApiManagement/service/backends",
    "azurerm_api_management_product": "Microsoft.ApiManagement/service/products",
    "azurerm_api_management_api_operation_policy": "Microsoft.ApiManagement/service/apis/operations/policies",
    "azurerm_cdn_frontdoor_profile": "Microsoft.Cdn/profiles",
    "azurerm_dashboard_grafana": "Microsoft.Dashboard/grafana",
    "azurerm_portal_dashboard": "Microsoft.Portal/dashboards",
    "azurerm_redis_enterprise_cluster": "Microsoft.Cache/redisEnterprise",
    "azurerm_cosmosdb_account": "Microsoft.DocumentDB/databaseAccounts",
    "azurerm_load_test": "Microsoft.LoadTestService/loadTests",
}


class Converter:
    """Turns the planned instances into ARM resources, with ids that link them together."""

    def __init__(self, plan: Plan, subscription: str) -> None:
        self.plan = plan
        self.subscription = subscription
        self.gaps: list[CoverageRecord] = []
        self.unmapped: dict[str, int] = {}
        self._ids: dict[str, str] = {}
        self._building: set[str] = set()

    # ---- identity ------------------------------------------------------------------------

    def referenced(self, inst: Instance, tf: str) -> Instance | None:
        return self.plan.referenced(inst, tf)

    def referenced_id(self, inst: Instance, tf: str) -> str | None:
        target = self.plan.referenced(inst, tf)
        return self.id_of(target) if target is not None else None

    def group_of(self, inst: Instance) -> str:
        value = inst.value("resource_group_name")
        if isinstance(value, str) and value and not inst.is_unknown("resource_group_name"):
            return value
        group = self.plan.referenced(inst, "resource_group_name")
        if group is not None and isinstance(group.value("name"), str):
            return str(group.value("name"))
        return f"({inst.address}.resource_group_name)"

    def name_of(self, inst: Instance) -> str:
        value = inst.value("name")
        if isinstance(value, str) and value and not inst.is_unknown("name"):
            return value
        return inst.address.replace("/", "_")

    def id_of(self, inst: Instance) -> str | None:
        """The ARM id of a planned resource: the real one when known, else one built for it."""
        known = inst.value("id")
        if isinstance(known, str) and known.startswith("/") and not inst.is_unknown("id"):
            return known
        if inst.address in self._ids:
            return self._ids[inst.address]
        if inst.address in self._building:
            return None
        self._building.add(inst.address)
        try:
            rid = self._build_id(inst)
        finally:
            self._building.discard(inst.address)
        if rid:
            self._ids[inst.address] = rid
        return rid

    def _build_id(self, inst: Instance) -> str | None:
        name = self.name_of(inst)
        if inst.type == "azapi_resource":
            arm_type = str(inst.value("type") or "").split("@")[0]
            parent = self._id_at(inst, "parent_id")
            if not arm_type or parent is None:
                return None
            segments = arm_type.split("/")
            parent_type_len = len(_type_segments(parent))
            if len(segments) > 2 and parent_type_len == len(segments) - 1:
                return f"{parent}/{segments[-1]}/{name}"
            return f"{parent}/providers/{arm_type}/{name}"
        if inst.type == "azurerm_resource_group":
            return f"/subscriptions/{self.subscription}/resourceGroups/{name}"
        mapping = MAPPINGS.get(inst.type)
        if mapping is None:
            unmapped_type = UNMAPPED_ARM.get(inst.type)
            if unmapped_type is None:
                return None
            arm_type = unmapped_type
            return (
                f"/subscriptions/{self.subscription}/resourceGroups/{self.group_of(inst)}"
                f"/providers/{arm_type}/{name}"
            )
        if mapping.placement == "group":
            return (
                f"/subscriptions/{self.subscription}/resourceGroups/{self.group_of(inst)}"
                f"/providers/{mapping.arm_type}/{name}"
            )
        if mapping.placement == "apim":
            return None  # built by the mapping from the names it is given
        parent = self._id_at(inst, mapping.parent)
        if parent is None:
            return None
        if mapping.placement == "child":
            return f"{parent}/{mapping.segment}/{name}"
        return f"{parent}/providers/{mapping.arm_type}/{name}"

    def _id_at(self, inst: Instance, tf: str) -> str | None:
        if not inst.is_unknown(tf):
            value = inst.value(tf)
            return value if isinstance(value, str) and value else None
        target = self.plan.referenced(inst, tf)
        return self.id_of(target) if target is not None else None

    # ---- conversion ----------------------------------------------------------------------

    def convert(self) -> list[dict[str, Any]]:
        resources: list[dict[str, Any]] = []
        patches: list[Instance] = []
        for inst in self.plan.instances:
            if inst.type in CONTEXT:
                continue
            if inst.type == "azapi_update_resource":
                patches.append(inst)
                continue
            if inst.wholly_unknown:
                self._unresolved(inst, "its whole planned value is known only after apply")
                continue
            if inst.type == "azapi_resource":
                resource = self._azapi(inst)
                if resource is not None:
                    resources.append(resource)
                continue
            mapping = MAPPINGS.get(inst.type)
            if mapping is None:
                self.unmapped[inst.type] = self.unmapped.get(inst.type, 0) + 1
                arm_type = UNMAPPED_ARM.get(inst.type)
                if arm_type:
                    self.gaps.append(
                        not_evaluated(
                            arm_type,
                            self.id_of(inst) or "/",
                            f"{inst.address}: prodcheck has no mapping of {inst.type} to ARM yet",
                        )
                    )
                continue
            resources.extend(self._mapped(inst, mapping))
        by_id = {str(r["id"]).lower(): r for r in resources}
        for patch in patches:
            self._apply_patch(patch, by_id)
        return resources

    def _unresolved(self, inst: Instance, why: str) -> None:
        arm_type = self._arm_type(inst)
        self.gaps.append(not_evaluated(arm_type or "unknown", "/", f"{inst.address}: {why}"))

    def _arm_type(self, inst: Instance) -> str:
        if inst.type in ("azapi_resource", "azapi_update_resource"):
            return str(inst.value("type") or "").split("@")[0]
        mapping = MAPPINGS.get(inst.type)
        return mapping.arm_type if mapping else UNMAPPED_ARM.get(inst.type, "")

    def _base(self, inst: Instance, arm_type: str, rid: str) -> dict[str, Any]:
        raw: dict[str, Any] = {
            "id": rid,
            "name": rid.rsplit("/", 1)[-1],
            "type": arm_type,
            ADDRESS_KEY: inst.address,
        }
        if inst.is_unknown("location"):
            pass
        elif isinstance(inst.value("location"), str):
            raw["location"] = inst.value("location")
        if inst.is_unknown("tags"):
            raw[UNKNOWN_KEY] = ["tags"]
        elif isinstance(inst.value("tags"), dict):
            raw["tags"] = inst.value("tags")
        return raw

    def _mapped(self, inst: Instance, mapping: Mapping) -> list[dict[str, Any]]:
        rid = self.id_of(inst)
        if mapping.placement == "apim":
            rid = self._apim_id(inst, mapping)
        if rid is None:
            self._unresolved(
                inst,
                f"the resource it belongs to ({mapping.parent or 'its parent'}) is known only "
                "after apply and no reference in the configuration names it",
            )
            return []
        raw = self._base(inst, mapping.arm_type, rid)
        body = Body(self, inst, raw)
        body.unknown.extend(raw.pop(UNKNOWN_KEY, []))
        if mapping.kind:
            raw["kind"] = mapping.kind
        for f in mapping.fields:
            body.field(f)
        if mapping.build is not None:
            mapping.build(body)
        body.unknown.extend(mapping.cannot)
        if body.unknown:
            raw[UNKNOWN_KEY] = list(dict.fromkeys(body.unknown))
        for extra in body.extra:
            extra.setdefault(ADDRESS_KEY, inst.address)
        return [raw, *body.extra]

    def _apim_id(self, inst: Instance, mapping: Mapping) -> str | None:
        body = Body(self, inst, {})
        if mapping.arm_type.endswith("/apis"):
            return _apim_child_id(body, [("service", "api_management_name"), ("apis", "name")])
        if mapping.arm_type.endswith("/apis/policies"):
            return _apim_child_id(
                body,
                [("service", "api_management_name"), ("apis", "api_name"), ("policies", "")],
            )
        service = self._id_at(inst, "api_management_id")
        return f"{service}/policies/policy" if service else None

    def _azapi(self, inst: Instance) -> dict[str, Any] | None:
        arm_type = str(inst.value("type") or "").split("@")[0]
        rid = self.id_of(inst)
        if not arm_type or rid is None:
            self._unresolved(
                inst, "its parent_id is known only after apply and no reference names it"
            )
            return None
        raw = self._base(inst, arm_type, rid)
        unknown: list[str] = raw.pop(UNKNOWN_KEY, [])
        body = decode_body(inst.value("body"))
        if inst.is_unknown("body") and not isinstance(body, dict):
            unknown.append("properties")
        if isinstance(body, dict):
            for key, value in body.items():
                if key not in ("id", "name", "type", ADDRESS_KEY, UNKNOWN_KEY):
                    raw[key] = value
            unknown += _unknown_in_body(inst)
        identity = inst.value("identity")
        if isinstance(identity, list) and identity and isinstance(identity[0], dict):
            b = Body(self, inst, raw)
            _identity(b)
            unknown += b.unknown
        if inst.is_unknown("id"):
            # What Azure assigns when it creates the resource (its ids, host names, addresses)
            # is in azapi's `output`, known after apply, never in the configured body.
            for path in SERVER_VALUES.get(arm_type.lower(), ()):
                if _absent(raw, path):
                    unknown.append(path)
        if unknown:
            raw[UNKNOWN_KEY] = list(dict.fromkeys(unknown))
        return raw

    def _apply_patch(self, patch: Instance, by_id: dict[str, dict[str, Any]]) -> None:
        target_id = self._id_at(patch, "resource_id") or self._id_at(patch, "parent_id")
        target = by_id.get(target_id.lower()) if target_id else None
        body = decode_body(patch.value("body"))
        if target is None:
            self.gaps.append(
                not_evaluated(
                    self._arm_type(patch) or "unknown",
                    target_id or "/",
                    f"{patch.address} changes a resource that is not in the plan or cannot be "
                    "linked before apply",
                )
            )
            return
        if isinstance(body, dict):
            _merge(target, body)
        if patch.is_unknown("body"):
            unknown = list(target.get(UNKNOWN_KEY, []))
            unknown += _unknown_in_body(patch) or ["properties"]
            target[UNKNOWN_KEY] = list(dict.fromkeys(unknown))


# Read-only properties Azure fills in that rules read (an identity's ids, the host names and
# addresses a service gets): absent from a planned azapi body, they are known after apply.
SERVER_VALUES: dict[str, tuple[str, ...]] = {
    "microsoft.managedidentity/userassignedidentities": (
        "properties.principalId",
        "properties.clientId",
        "properties.tenantId",
    ),
    "microsoft.appconfiguration/configurationstores": ("properties.endpoint",),
    "microsoft.keyvault/vaults": ("properties.vaultUri",),
    "microsoft.containerregistry/registries": ("properties.loginServer",),
    "microsoft.cognitiveservices/accounts": ("properties.endpoint", "properties.endpoints"),
    "microsoft.app/managedenvironments": ("properties.defaultDomain", "properties.staticIp"),
    "microsoft.app/containerapps": (
        "properties.latestRevisionFqdn",
        "properties.configuration.ingress.fqdn",
        "properties.outboundIpAddresses",
    ),
    "microsoft.insights/components": (
        "properties.ConnectionString",
        "properties.InstrumentationKey",
    ),
    "microsoft.operationalinsights/workspaces": ("properties.customerId",),
    "microsoft.apimanagement/service": (
        "properties.gatewayUrl",
        "properties.privateIPAddresses",
        "properties.publicIPAddresses",
    ),
    "microsoft.storage/storageaccounts": ("properties.primaryEndpoints",),
    "microsoft.servicebus/namespaces": ("properties.serviceBusEndpoint",),
    "microsoft.cache/redisenterprise": ("properties.hostName",),
    "microsoft.communication/communicationservices": ("properties.hostName",),
    "microsoft.network/publicipaddresses": ("properties.ipAddress",),
}


def _absent(raw: dict[str, Any], path: str) -> bool:
    node: Any = raw
    for step in path.split("."):
        if not isinstance(node, dict) or step not in node:
            return True
        node = node[step]
    return node is None


def _unknown_in_body(inst: Instance) -> list[str]:
    """ARM paths of the unknown parts of an azapi `body` (azapi bodies are ARM already)."""
    out = []
    for path in inst.unknown:
        if path and path[0] == "body":
            rest = path[1:]
            text = ""
            for step in rest:
                text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else step)
            out.append(text or "properties")
    return out


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """A JSON merge of `patch` into `target` (objects merge, everything else replaces)."""
    for key, value in patch.items():
        if key in ("id", "type", ADDRESS_KEY, UNKNOWN_KEY):
            continue
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _type_segments(resource_id: str) -> list[str]:
    """The type segments of an id: `Microsoft.X/a/b` for `.../providers/Microsoft.X/a/n/b/m`."""
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return []
    last = len(lowered) - 1 - lowered[::-1].index("providers")
    rest = parts[last + 1 :]
    if not rest:
        return []
    return [rest[0]] + [rest[i] for i in range(1, len(rest), 2)]
