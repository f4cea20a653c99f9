"""Encryption on the data path — "Private endpoints configured for all services".

The guide isolates the services in a private network; what travels on that network (and on any
public path left open) must still be encrypted with a current TLS version. A cache, database,
storage account or app that accepts plaintext or TLS 1.0/1.1 hands whatever crosses it to anyone
on the path: a compromised host in the virtual network, a misrouted peering, a proxy.
"""

from __future__ import annotations

import datetime as dt
import re

from prodcheck import Severity, rule

CHECKLIST = "Private endpoints configured for all services"
REDIS = "Microsoft.Cache/redis"
REDIS_ENTERPRISE = "Microsoft.Cache/redisEnterprise"
REDIS_DATABASE = "Microsoft.Cache/redisEnterprise/databases"
COSMOS = "Microsoft.DocumentDB/databaseAccounts"
STORAGE = "Microsoft.Storage/storageAccounts"
CONTAINER_APP = "Microsoft.App/containerApps"

# Dates from which a service refuses TLS 1.0 and 1.1 whatever its own setting says (the
# services' retirement notices); a minimum it does not report is then this floor.
_FLOOR_VERSION = (1, 2)
_PLATFORM_FLOOR = {
    REDIS: dt.date(2024, 11, 1),
    STORAGE: dt.date(2026, 2, 3),
}

_CACHE_READ = (
    "anyone on the path reads every cached value (conversation state, session data) and the "
    "access key sent with AUTH, and can write to the cache"
)


def _lower(value) -> str:
    return str(value or "").strip().lower()


_TLS_DIGITS = re.compile(r"(\d)[._]?(\d)?")


def tls_version(value) -> tuple[int, int] | None:
    """A minimum TLS setting as (major, minor), in the spellings of each provider.

    Redis `1.2`, Storage `TLS1_2`, Cosmos DB `Tls` / `Tls11` / `Tls12`; None when unreadable.
    """
    text = _lower(value).removeprefix("tls").removeprefix("v")
    if text == "":
        return (1, 0) if _lower(value) == "tls" else None
    match = _TLS_DIGITS.fullmatch(text)
    if not match:
        return None
    return int(match.group(1)), int(match.group(2) or 0)


def _shown(version: tuple[int, int]) -> str:
    return f"TLS {version[0]}.{version[1]}"


# ---- 1. plaintext ----------------------------------------------------------------------------


@rule(
    id="PC-TLS-001",
    title="No cache, storage account or app accepts plaintext connections",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[REDIS, REDIS_DATABASE, STORAGE, CONTAINER_APP],
    rationale=(
        "A private network is not an encrypted one. A port that accepts plaintext gives anyone "
        "on the path (a compromised host in the virtual network, a proxy, a misrouted peering) "
        "the data and the credentials that cross it."
    ),
    remediation=(
        """
        Turn plaintext off on the resource (check first that no client still connects without TLS).
        The command depends on the resource's type:

        ```sh
        # Azure Cache for Redis
        az redis update -n {name} -g {resource_group} --set enableNonSslPort=false
        # Azure Managed Redis (Redis Enterprise) database
        az redisenterprise database update --cluster-name '<cluster>' -g {resource_group} --client-protocol Encrypted
        # storage account
        az storage account update -n {name} -g {resource_group} --https-only true
        # container app
        az containerapp ingress update -n {name} -g {resource_group} --allow-insecure false
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/azure-cache-for-redis/cache-configure#access-ports",
        "https://learn.microsoft.com/azure/redis/tls-configuration",
        "https://learn.microsoft.com/azure/storage/common/storage-require-secure-transfer",
        "https://learn.microsoft.com/azure/container-apps/ingress-overview",
    ],
)
def no_plaintext(inv, p):
    """
    ## What it checks
    - Azure Cache for Redis (`Microsoft.Cache/redis`): `enableNonSslPort` is not `true` (the
      plaintext port 6379 is closed).
    - Azure Managed Redis / Redis Enterprise databases
      (`Microsoft.Cache/redisEnterprise/databases`): `clientProtocol` is not `Plaintext`
      (absent means `Encrypted`, the default).
    - Storage accounts: `supportsHttpsTrafficOnly` is not `false` (absent means `true`, the
      default since API version 2019-04-01).
    - Container apps with ingress: `configuration.ingress.allowInsecure` is not `true` (HTTP
      requests are redirected to HTTPS instead of served).

    Each finding says what an attacker on the path gets.

    Checked against the GET bodies of `Microsoft.Cache/redis` 2024-11-01,
    `Microsoft.Cache/redisEnterprise/databases` 2025-07-01, `Microsoft.Storage/storageAccounts`
    2023-05-01 and `Microsoft.App/containerApps` 2024-03-01.

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.Cache/redisEnterprise/databases",
     "properties": {"clientProtocol": "Plaintext", "port": 10000}}
    ```
    Passes:
    ```json
    {"type": "Microsoft.Cache/redisEnterprise/databases",
     "properties": {"clientProtocol": "Encrypted", "port": 10000}}
    ```
    """
    for cache in inv.of_type(REDIS):
        evidence = cache.evidence("properties.enableNonSslPort")
        if cache.get("properties.enableNonSslPort") is True:
            yield cache.fail(
                f"the plaintext port 6379 is open (enableNonSslPort true): {_CACHE_READ}",
                evidence=evidence,
            )
        else:
            yield cache.ok("only the TLS port 6380 is open", evidence=evidence)
    for database in inv.of_type(REDIS_DATABASE):
        protocol = database.get("properties.clientProtocol") or "Encrypted"
        evidence = database.evidence("properties.clientProtocol", "properties.port")
        if _lower(protocol) == "plaintext":
            yield database.fail(
                f"clients connect without TLS (clientProtocol Plaintext): {_CACHE_READ}",
                evidence=evidence,
            )
        else:
            yield database.ok(f"clientProtocol {protocol}", evidence=evidence)
    for account in inv.of_type(STORAGE):
        evidence = account.evidence("properties.supportsHttpsTrafficOnly")
        if account.get("properties.supportsHttpsTrafficOnly") is False:
            yield account.fail(
                "HTTP is accepted (supportsHttpsTrafficOnly false): anyone on the path reads "
                "blobs, queue messages and the SAS tokens in the URLs, and replays them",
                evidence=evidence,
            )
        else:
            yield account.ok("HTTPS only", evidence=evidence)
    for app in inv.of_type(CONTAINER_APP):
        ingress = app.get("properties.configuration.ingress")
        if not isinstance(ingress, dict) or not ingress:
            continue  # no ingress: nothing listens
        evidence = app.evidence(
            "properties.configuration.ingress.allowInsecure",
            "properties.configuration.ingress.external",
        )
        if ingress.get("allowInsecure") is True:
            yield app.fail(
                "ingress serves plain HTTP (allowInsecure true) instead of redirecting to HTTPS: "
                "anyone on the path reads session tokens, call audio and callers' data, and "
                "can keep a user who typed http:// off TLS",
                evidence=evidence,
            )
        else:
            yield app.ok("ingress redirects HTTP to HTTPS", evidence=evidence)


# ---- 2. old TLS --------------------------------------------------------------------------------


@rule(
    id="PC-TLS-002",
    title="Caches, databases and storage accounts refuse TLS before 1.2",
    checklist=CHECKLIST,
    severity=Severity.MEDIUM,
    needs=[REDIS, REDIS_ENTERPRISE, COSMOS, STORAGE],
    params={"min_tls_version": "1.2"},
    rationale=(
        "TLS 1.0 and 1.1 are deprecated (RFC 8996): a service that still accepts them lets a "
        "client, or an attacker on the path forcing a downgrade, use ciphers and hashes with "
        "known attacks."
    ),
    remediation=(
        """
        Raise the minimum TLS version to 1.2 (check first that no client still needs an older one).
        The command depends on the resource's type:

        ```sh
        # Azure Cache for Redis
        az redis update -n {name} -g {resource_group} --set minimumTlsVersion=1.2
        # Cosmos DB account
        az cosmosdb update -n {name} -g {resource_group} --minimal-tls-version Tls12
        # storage account
        az storage account update -n {name} -g {resource_group} --min-tls-version TLS1_2
        ```
    """
    ),
    links=[
        "https://learn.microsoft.com/azure/azure-cache-for-redis/cache-remove-tls-10-11",
        "https://learn.microsoft.com/azure/cosmos-db/self-serve-minimum-tls-enforcement",
        "https://learn.microsoft.com/azure/storage/common/transport-layer-security-configure-minimum-version",
    ],
)
def tls_minimum(inv, p):
    """
    ## What it checks
    The minimum TLS version each service accepts is at least `min_tls_version`:

    - Azure Cache for Redis `minimumTlsVersion` (`1.0`, `1.1`, `1.2`).
    - Azure Managed Redis / Redis Enterprise clusters `minimumTlsVersion`; not set is the
      default, 1.2.
    - Cosmos DB accounts `minimalTlsVersion` (`Tls`, `Tls11`, `Tls12`). Not set gives ERROR:
      API versions before 2022-11-15 do not report it, so the body cannot tell.
    - Storage accounts `minimumTlsVersion` (`TLS1_0` ... `TLS1_3`).

    Azure has since raised the floor under two of these: Azure Cache for Redis refuses TLS 1.0
    and 1.1 from 2024-11-01, Azure Storage from 2026-02-03. The rule judges as of the audit's
    data (the snapshot's `collectedAt`):

    - not set, before the floor date: FAIL (the service then accepted TLS 1.0);
    - not set, from the floor date on: PASS, the platform's TLS 1.2 decides it (unless
      `min_tls_version` asks for more);
    - set below `min_tls_version`: FAIL in every case. Before the floor date a client or an
      attacker forcing a downgrade can use the old version; after it the service refuses it
      anyway, but the setting still says otherwise to Azure Policy, to reviewers and to any
      cloud where the floor is not yet in force, and fixing it costs one command. The message
      says which of the two it is.

    Checked against the GET bodies of `Microsoft.Cache/redis` 2024-11-01,
    `Microsoft.Cache/redisEnterprise` 2025-07-01, `Microsoft.DocumentDB/databaseAccounts`
    2024-11-15 and `Microsoft.Storage/storageAccounts` 2023-05-01.

    ## Example
    Fails:
    ```json
    {"type": "Microsoft.DocumentDB/databaseAccounts", "properties": {"minimalTlsVersion": "Tls11"}}
    ```
    Passes:
    ```json
    {"type": "Microsoft.Storage/storageAccounts", "properties": {"minimumTlsVersion": "TLS1_2"}}
    ```
    """
    wanted = tls_version(p.min_tls_version)
    if wanted is None:
        yield inv.scope.error(
            f"parameter min_tls_version {p.min_tls_version!r} is not a TLS version: use 1.2 or 1.3"
        )
        return
    as_of = (inv.as_of or dt.datetime.now(dt.UTC)).date()
    checks = [
        (REDIS, "properties.minimumTlsVersion", "fail", "Azure Cache for Redis"),
        (REDIS_ENTERPRISE, "properties.minimumTlsVersion", "default", ""),
        (COSMOS, "properties.minimalTlsVersion", "error", ""),
        (STORAGE, "properties.minimumTlsVersion", "fail", "Azure Storage"),
    ]
    for type_, path, when_unset, service in checks:
        setting = path.rsplit(".", 1)[-1]
        floor_since = _PLATFORM_FLOOR.get(type_)
        floor = _FLOOR_VERSION if floor_since is not None and as_of >= floor_since else None
        for res in inv.of_type(type_):
            value = res.get(path)
            evidence = res.evidence(path)
            if value is None or value == "":
                if when_unset == "default":
                    yield res.ok(f"{setting} not set: the default, TLS 1.2", evidence=evidence)
                elif when_unset == "error":
                    yield res.error(
                        f"{setting} is not in the body (API versions before 2022-11-15 omit "
                        "it): collect with a newer API version",
                        evidence=evidence,
                    )
                elif floor is not None and floor >= wanted:
                    yield res.ok(
                        f"{setting} not set: {service} has refused TLS before 1.2 since "
                        f"{floor_since}",
                        evidence=evidence,
                    )
                else:
                    yield res.fail(
                        f"{setting} is not set ({service} then accepted TLS 1.0 until "
                        f"{floor_since}): set {_shown(wanted)} explicitly",
                        evidence=evidence,
                    )
                continue
            version = tls_version(value)
            if version is None:
                yield res.error(f"{setting} {value!r} is not a TLS version", evidence=evidence)
            elif version < wanted and floor is not None and floor >= wanted:
                yield res.fail(
                    f"{setting} {value} says {_shown(version)} is accepted; {service} has "
                    f"refused TLS before 1.2 since {floor_since}, but the setting still tells "
                    f"Azure Policy and reviewers otherwise: set {_shown(wanted)}",
                    evidence=evidence,
                )
            elif version < wanted:
                yield res.fail(
                    f"{setting} {value} accepts {_shown(version)}: a client or an attacker "
                    f"forcing a downgrade on the path can use it (needs {_shown(wanted)}+)",
                    evidence=evidence,
                )
            else:
                yield res.ok(f"{setting} {value}", evidence=evidence)
