"""Models that will not retire under the workload — "Production environment validated".

A deployment pinned to a model version is an outage with a date on it: the version's inference
retirement date in the region's model catalogue. The catalogue
(`Microsoft.CognitiveServices/locations/{location}/models`) has no ARM ids; snapshots carry its
items under an id prodcheck gives them (see docs/snapshot-format.md#catalogue-items).
"""

import datetime as dt

from prodcheck import Severity, rule

from ._workload import COGNITIVE_ACCOUNT, COGNITIVE_DEPLOYMENT

MODEL_CATALOGUE = "Microsoft.CognitiveServices/locations/models"
CHECKLIST = "Production environment validated"


def _region(text: str) -> str:
    return text.replace(" ", "").lower()


def _catalogue(inv):
    """Catalogue items by (region, format, name, version), each a list (one per account kind)."""
    found = {}
    for item in inv.of_type(MODEL_CATALOGUE):
        parts = item.id.lower().split("/")
        region = parts[parts.index("locations") + 1] if "locations" in parts else ""
        key = (
            _region(region),
            str(item.get("model.format") or "").lower(),
            str(item.get("model.name") or "").lower(),
            str(item.get("model.version") or "").lower(),
        )
        found.setdefault(key, []).append(item)
    return found


def _date(value):
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


@rule(
    id="PC-MODEL-001",
    title="Model deployments run versions that will not retire under them",
    checklist=CHECKLIST,
    severity=Severity.HIGH,
    needs=[COGNITIVE_ACCOUNT, COGNITIVE_DEPLOYMENT, MODEL_CATALOGUE],
    params={
        "min_days_to_retirement": 90,
        "blocked_lifecycle": ["Preview", "Deprecating", "Deprecated"],
    },
    rationale=(
        "A model version past its retirement date stops answering: the voice agent goes silent "
        "on a date that was published months before. Pinned versions and preview models turn "
        "that date into an outage nobody scheduled."
    ),
    remediation=(
        "Move the deployment to a generally available version that is not retiring soon, and "
        "let it follow new default versions.\n\n```sh\n"
        "az cognitiveservices account deployment create -n '<account>' -g {resource_group} "
        "--deployment-name {name} --model-format OpenAI --model-name '<model>' "
        "--model-version '<version>' --sku-name '<sku>' --sku-capacity '<capacity>'\n```"
    ),
    links=[
        "https://learn.microsoft.com/azure/ai-foundry/openai/concepts/model-retirements",
        "https://learn.microsoft.com/azure/ai-foundry/openai/how-to/working-with-models",
    ],
)
def models_will_not_retire(inv, p):
    """
    ## What it checks
    For every model deployment (`Microsoft.CognitiveServices/accounts/deployments`), the item
    of the model catalogue of its account's region with the same `model.format`, `model.name`
    and `model.version`, and:

    - its inference retirement date (`model.deprecation.inference`) is not past, nor within
      `min_days_to_retirement` days (default 90): FAIL with the date;
    - a version with a retirement date is not pinned (`versionUpgradeOption: NoAutoUpgrade`):
      FAIL, since nothing will move the deployment off it;
    - its `model.lifecycleStatus` is not in `blocked_lifecycle` (Preview, Deprecating,
      Deprecated): FAIL, a preview model has no retirement guarantee.

    Dates are judged as of the moment the data describes: the snapshot's `collectedAt` (a live
    audit: now; a plan: its `timestamp`), so a report is the same whenever the snapshot is
    audited again. A deployment whose model is not in the catalogue read for its region is
    ERROR, not PASS. A live audit reads the catalogue of each region that holds an AI account
    (one list per region, permission `Microsoft.CognitiveServices/locations/models/read`).

    Checked against the `Microsoft.CognitiveServices/accounts/deployments` GET bodies of API
    versions 2024-10-01 and 2025-09-01 (no `versionUpgradeOption` for a deployment created
    without one, `sku` at the top) and the `locations/models` list of 2024-10-01 (the
    collector's: `deprecation` and `lifecycleStatus` inside `model`, the location written
    `WestUS`; regions are compared without case or spaces).

    ## Example
    Fails (audited on 2026-11-26): the deployment runs `gpt-4o` `2024-08-06`, whose catalogue
    item has `"deprecation": {"inference": "2026-12-15T00:00:00Z"}` — 19 days away.
    Passes: a version with no retirement date, or one more than 90 days away that follows
    new default versions (`OnceNewDefaultVersionAvailable`).
    """
    as_of = inv.as_of or dt.datetime.now(dt.UTC)
    for deployment in inv.of_type(COGNITIVE_DEPLOYMENT):
        catalogue = inv.derived(_catalogue, MODEL_CATALOGUE)
        account = inv.parent(deployment)
        model = deployment.get("properties.model") or {}
        fmt = str(model.get("format") or "") if isinstance(model, dict) else ""
        name = str(model.get("name") or "") if isinstance(model, dict) else ""
        version = str(model.get("version") or "") if isinstance(model, dict) else ""
        upgrade = str(deployment.get("properties.versionUpgradeOption") or "")
        evidence = {
            "properties.model": model,
            "properties.versionUpgradeOption": upgrade or None,
        }
        if account is None:
            yield deployment.error("its AI Services account is not in the inventory")
            continue
        region = _region(account.location)
        items = catalogue.get((region, fmt.lower(), name.lower(), version.lower()), [])
        if not items:
            yield deployment.error(
                f"{name} {version} ({fmt}) is not in the model catalogue read for {region}: "
                "its retirement date cannot be told",
                evidence=evidence,
            )
            continue
        same_kind = [i for i in items if str(i.get("kind") or "").lower() == account.kind.lower()]
        item = (same_kind or items)[0]
        retires = _date(item.get("model.deprecation.inference"))
        lifecycle = str(item.get("model.lifecycleStatus") or "")
        evidence["catalogue"] = {
            "id": item.id,
            "lifecycleStatus": lifecycle or None,
            "deprecation.inference": item.get("model.deprecation.inference"),
        }
        problems = []
        if retires is not None:
            day = retires.date().isoformat()
            days = (retires - as_of).total_seconds() / 86400
            if days <= 0:
                problems.append(f"{name} {version} was retired for inference on {day}")
            elif days < p.min_days_to_retirement:
                problems.append(
                    f"{name} {version} retires for inference on {day}, in {int(days)} days "
                    f"(< {p.min_days_to_retirement})"
                )
            if upgrade.lower() == "noautoupgrade":
                problems.append(
                    f"pinned to {version} (versionUpgradeOption: NoAutoUpgrade), which retires "
                    f"on {day}: nothing will move the deployment off it"
                )
        elif item.get("model.deprecation.inference") not in (None, ""):
            problems.append(
                f"the catalogue's retirement date {item.get('model.deprecation.inference')!r} "
                "is not a date"
            )
        if lifecycle.lower() in {str(s).lower() for s in p.blocked_lifecycle}:
            problems.append(f"{name} {version} is {lifecycle} in the model catalogue")
        if problems:
            yield deployment.fail(*problems, evidence=evidence)
        else:
            when = f"retires on {retires.date().isoformat()}" if retires else "no retirement date"
            yield deployment.ok(
                f"{name} {version}: {lifecycle or 'lifecycle not stated'}, {when}, "
                f"{upgrade or 'upgrade option not set'}",
                evidence=evidence,
            )
