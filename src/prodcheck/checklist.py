"""The go-live checklist of the production deployment guide, in the guide's order.

Rules name the checklist line they verify; reports group findings by these sections and items,
in this order, so that a reviewer reads the audit the way they read the guide.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChecklistItem:
    section: str
    text: str


PRE_PRODUCTION = "Pre-Production"
GO_LIVE = "Go-Live"
POST_LAUNCH = "Post-Launch"
GUIDE = "Production guide"

SECTIONS = [PRE_PRODUCTION, GO_LIVE, POST_LAUNCH, GUIDE]

ITEMS: list[ChecklistItem] = [
    ChecklistItem(PRE_PRODUCTION, "Private endpoints configured for all services"),
    ChecklistItem(PRE_PRODUCTION, "Application Gateway with WAF deployed"),
    ChecklistItem(PRE_PRODUCTION, "API Management configured with rate limiting"),
    ChecklistItem(PRE_PRODUCTION, "Managed Identity enabled (no connection strings)"),
    ChecklistItem(PRE_PRODUCTION, "Key Vault integration for all secrets"),
    ChecklistItem(PRE_PRODUCTION, "Monitoring dashboards and alerts configured"),
    ChecklistItem(PRE_PRODUCTION, "Load testing completed at target scale"),
    ChecklistItem(PRE_PRODUCTION, "Security assessment performed"),
    ChecklistItem(PRE_PRODUCTION, "Disaster recovery procedures documented"),
    ChecklistItem(GO_LIVE, "Production environment validated"),
    ChecklistItem(GO_LIVE, "Rollback procedures tested"),
    ChecklistItem(GO_LIVE, "Support team trained and on standby"),
    ChecklistItem(GO_LIVE, "Incident response playbooks ready"),
    ChecklistItem(GO_LIVE, "Performance baselines established"),
    ChecklistItem(POST_LAUNCH, "Metrics reviewed against targets"),
    ChecklistItem(POST_LAUNCH, "Cost optimization opportunities identified"),
    ChecklistItem(POST_LAUNCH, "Continuous improvement roadmap updated"),
    # Requirements the guide states outside its checklist.
    ChecklistItem(GUIDE, "Container Apps scale configuration"),
    ChecklistItem(GUIDE, "Managed messaging for backpressure"),
    ChecklistItem(GUIDE, "Operator access through Entra ID with MFA"),
    ChecklistItem(GUIDE, "Callers authenticated at the backend"),
    ChecklistItem(GUIDE, "AI content safety"),
    ChecklistItem(GUIDE, "Production guardrails not bypassed"),
]

_BY_TEXT = {item.text.lower(): item for item in ITEMS}


def section_of(checklist: str) -> str | None:
    """The section a checklist line belongs to, or None for a line the guide does not have."""
    item = _BY_TEXT.get(checklist.strip().lower())
    return item.section if item else None


def order_of(section: str, checklist: str) -> tuple[int, int, str]:
    """A sort key: the guide's order first, unknown sections and lines after, alphabetically."""
    s = SECTIONS.index(section) if section in SECTIONS else len(SECTIONS)
    item = _BY_TEXT.get(checklist.strip().lower())
    i = ITEMS.index(item) if item else len(ITEMS)
    return (s, i, checklist.lower())
