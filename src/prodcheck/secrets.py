"""Recognising credentials, so that prodcheck can flag them and never print them.

The one place that knows what a credential looks like:

- rules detect them (a connection string in a plain environment variable is a finding);
- collection masks them in every resource it stores, so a snapshot never holds one;
- every exit (snapshot file, each report format, the terminal, error lines) masks them again,
  through `prodcheck.outbound`, so no output can carry one.

Two kinds of knowledge meet here. Where a credential sits (`AccountKey=...`, `Password="..."`,
a URL's `user:password@`, a SAS `sig=`, `Bearer ...`, `"password": "..."`, an APIM policy's
`api-key` header, `authentication-basic password=`) is Azure's and prodcheck's own. What a
vendor's token looks like (GitHub, GitLab, Slack, AWS, Stripe, SendGrid, Twilio, npm, PyPI,
JWTs ...) comes from the maintained detectors of `detect-secrets`, whose patterns are used as
they ship.

Masking replaces the secret part and keeps the label (`AccountKey=***redacted***`,
`postgres://app:***redacted***@db`, `ghp_***redacted***`), so that a reader, and a rule reading
a masked snapshot, still sees that a credential was there and what kind it was. Masking is
idempotent: masked text masks to itself.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from collections.abc import Callable
from functools import lru_cache
from itertools import accumulate
from typing import Any

REDACTED = "***redacted***"
_RED = re.escape(REDACTED)

# ---- where a credential sits ---------------------------------------------------------------

# A placeholder or reference is not a secret: `{{named-value}}`, `${VAR}`, `<password>`,
# `@Microsoft.KeyVault(...)`, `secretref:name`, and the words documentation writes in place of
# one (`user:pass@`, `Password=...`).
_NOT_A_VALUE = (
    r"(?!\{\{|\$\{|<[A-Za-z_-]+>|@Microsoft\.KeyVault\(|secretref:"
    r"|(?:pass|password|pwd|secret|key|token|x+|\.\.\.|…)(?=[@;&\"'`\s<,)]|$))"
)

# Keys of `key=value` pairs (connection strings, query strings, XML attributes) whose value is a
# credential.
_PAIR_KEYS = (
    r"AccountKey|SharedAccessKey|AccessKey|Password|Passwd|Pwd|SharedAccessSignature|"
    r"Client[-_]?Secret|Secret|Api[-_]?Key|AuthKey|Access[-_]?Token|Refresh[-_]?Token|"
    r"Id[-_]?Token|Token|Sas[-_]?Token|Certificate[-_]?Password"
)
# `=` plain, URL-encoded once or twice.
_EQ = r"\s*(?:=|%3[Dd]|%253[Dd])\s*"
# One of these is in any text that `_EQ` matches (lower case).
_EQ_WORDS = ("=", "%3d", "%253d")
# A quoted value (quotes possibly backslash-escaped, as inside JSON text).
_QUOTED = r"(?P<q>\\?[\"'])" + _NOT_A_VALUE + r"(?P<v>(?:(?!(?P=q)).)+?)(?P=q)"
# Where a key starts: not inside a longer word, or right after a URL-encoded `;`.
_START = r"(?:(?<![A-Za-z])|(?<=%3[Bb]))"
# An unquoted value: up to `;`, whitespace, a quote, markup, a backslash, or an encoded `;`/`&`.
_BARE = (
    _NOT_A_VALUE
    + r"(?P<w>(?:%(?!3[Bb]|26|2[Cc]|22|27|20)[0-9A-Fa-f]{2}|[^;\s\"'`<>\\%,&]|&(?![\w.-]+=|amp;|quot;|#))+)"
)

_QUERY_KEYS = (
    r"sig|code|client_secret|client-secret|token|access_token|refresh_token|id_token|"
    r"api-key|apikey|api_key|subscription-key|subscription_key|key|password|secret|sas"
)
_XML_HEADER_ELEMENTS = r"set-header|set-query-parameter|check-header"
# Keys of a JSON or YAML mapping whose quoted value is a credential (lower case).
_JSON_KEYS = (
    r"password|passwd|pwd|secret|client[-_]?secret|api[-_]?key|"
    r"access[-_]?key|account[-_]?key|primary[-_]?key|secondary[-_]?key|shared[-_]?key|"
    r"(?:access|refresh|id|sas|auth)?[-_]?token|connection[-_]?string|private[-_]?key"
)
# Every GitLab token, AWS access key id and GitHub token starts with one of these (one pattern for
# all, so that a document is read for them once: see `lines_to_mask`).
_GITLAB = r"gl(?:pat|dt|ft|soat|rt|cbt|imt|ptt|agent|oas)-"
_AWS = r"A(?:3T|BIA|CCA|KIA|SIA)"
_GITHUB = r"g(?:h[pousr]|ithub_pat)_"
# `_EQ` as it reads folded text (see `_fold`).
_EQ_FOLDED = r"\s*(?:=|%3d|%253d)"
# What each key of `_QUERY_KEYS`, `_PAIR_KEYS` and `_JSON_KEYS` ends with (lower case): the
# `near` pattern of each mask starts with one, so that it is found at the speed of a literal.
_QUERY_KEY_ENDINGS = ("sig", "code", "secret", "token", "key", "password", "sas")
_PAIR_KEY_ENDINGS = ("key", "password", "passwd", "pwd", "signature", "secret", "token")
_JSON_KEY_ENDINGS = ("password", "passwd", "pwd", "secret", "key", "token", "string")


def _ending(endings: tuple[str, ...], after: str) -> tuple[str, ...]:
    """One pattern per key ending: the ending, then `after`."""
    return tuple(re.escape(ending) + after for ending in endings)


_SECRET_HEADER = re.compile(
    r"(?:^|[-_])(?:api[-_]?key|key|secret|token|password|authorization|cookie|signature|code)$"
    r"|subscription[-_]?key|functions[-_]?key|access[-_]?token",
    re.IGNORECASE,
)


def _value_group(m: re.Match[str]) -> str:
    return "v" if m.group("v") is not None else "w"


class _Mask:
    """One place a credential sits: a label, a pattern whose group `v` (or `w`) is the secret."""

    def __init__(
        self,
        label: str,
        triggers: tuple[str, ...],
        pattern: str | re.Pattern[str],
        flags: int = 0,
        requires: tuple[tuple[str, ...], ...] = (),
        near: str | tuple[str, ...] | None = None,
        exact: str | None = None,
        words: tuple[str, ...] | None = None,
    ) -> None:
        self.label = label
        # Lower-case strings one of which any match contains: a cheap test before the pattern.
        self.triggers = triggers
        # More such tests, all of which must pass: each a tuple of strings one of which any match
        # contains (`=` for a `key=value` pair).
        self.requires = requires
        # For reading a whole document at once (`lines_to_mask`), each optional:
        # - `near`: patterns one of which finds something in the folded text (see `_fold`)
        #   of any text the mask matches, read only where a trigger word is;
        # - `exact`: a pattern (case-sensitive, with a literal start, on the text as it is)
        #   that finds something in any text the mask matches, read instead of the trigger
        #   words, for a mask whose trigger words are everywhere (`.`, `:`).
        # - `words`: lower-case words one of which the folded text of any text the mask
        #   matches holds, read instead of the trigger words (fewer, or rarer, ones).
        # None may read a line break (a line is masked on its own) or look around.
        self.words = words or triggers
        self.near = tuple(map(re.compile, (near,) if isinstance(near, str) else near or ()))
        self.exact = re.compile(exact) if exact else None
        self.pattern = re.compile(pattern, flags) if isinstance(pattern, str) else pattern
        self._groups = [g for g in ("v", "w") if g in self.pattern.groupindex]
        # A mask of ours names the secret's group; a detector's match is judged by `_detected`.
        self.precise = bool(self._groups)

    def sub(self, text: str) -> str:
        # Several <value> elements in one policy header: mask until nothing changes (bounded).
        for _ in range(8):
            masked = self._sub_once(text)
            if masked == text:
                break
            text = masked
        return text

    def _sub_once(self, text: str) -> str:
        def repl(m: re.Match[str]) -> str:
            for g in self._groups:
                if m.group(g) is not None:
                    start, end = m.span(g)
                    whole = m.group(0)
                    offset = m.start()
                    return whole[: start - offset] + REDACTED + whole[end - offset :]
            return _detected(m)

        return self.pattern.sub(repl, text)

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where in `text` the secrets this mask finds sit (as `sub` would replace them)."""
        return self.scan(text)[0]

    def scan(self, text: str) -> tuple[list[tuple[int, int]], bool]:
        """`spans(text)`, and whether the pattern matched `text` at all (a match may mask
        nothing, a placeholder; no match at all means `sub` leaves `text` as it is)."""
        if self.pattern.search(text) is None:  # most texts: no iterator, no loop
            return [], False
        found: list[tuple[int, int]] = []
        matched = False
        for m in self.pattern.finditer(text):
            matched = True
            span = next((m.span(g) for g in self._groups if m.group(g) is not None), None)
            if span is None:
                span = _detected_span(m)
            if span is not None and span[1] > span[0]:
                found.append(span)
        return found, matched

    def search(self, text: str) -> bool:
        return self.pattern.search(text) is not None


_MASKS: list[_Mask] = [
    _Mask(
        "private key",
        ("private key",),
        r"-----BEGIN[A-Z0-9 ]{0,30} PRIVATE KEY(?: BLOCK)?-----"
        r"(?P<v>(?:(?!-----END)[\s\S])+)(?:-----END|$)",
    ),
    _Mask(
        "AccountKey=",
        ("accountkey",),
        _START + r"AccountKey" + _EQ + r"(?:" + _QUOTED + "|" + _BARE + ")",
        requires=(_EQ_WORDS,),
        near=r"accountkey" + _EQ_FOLDED,
    ),
    _Mask(
        "SharedAccessKey=",
        ("sharedaccesskey",),
        _START + r"SharedAccessKey" + _EQ + r"(?:" + _QUOTED + "|" + _BARE + ")",
        re.IGNORECASE,
        requires=(_EQ_WORDS,),
        near=r"sharedaccesskey" + _EQ_FOLDED,
    ),
    _Mask(
        "AccessKey=",
        ("accesskey",),
        _START + r"AccessKey" + _EQ + r"(?:" + _QUOTED + "|" + _BARE + ")",
        re.IGNORECASE,
        requires=(_EQ_WORDS,),
        near=r"accesskey" + _EQ_FOLDED,
    ),
    _Mask(
        "Password=",
        ("pass", "pwd"),
        _START + r"(?:Password|Passwd|Pwd)" + _EQ + r"(?:" + _QUOTED + "|" + _BARE + ")",
        re.IGNORECASE,
        requires=(_EQ_WORDS,),
        near=(r"passw(?:or)?d" + _EQ_FOLDED, r"pwd" + _EQ_FOLDED),
    ),
    _Mask(
        "mongodb://user:pass@",
        ("mongodb",),
        r"mongodb(?:\+srv)?://[^\s:/?#@\"'<>\\]*:" + _NOT_A_VALUE + r"(?P<v>[^\s/?#\"'`<>\\]+)@",
        re.IGNORECASE,
        requires=(("@",),),
        near=r"mongodb(?:\+srv)?://",
    ),
    _Mask(
        "redis://:pass@",
        ("redis",),
        r"rediss?://[^\s:/?#@\"'<>\\]*:" + _NOT_A_VALUE + r"(?P<v>[^\s/?#\"'`<>\\]+)@",
        re.IGNORECASE,
        requires=(("@",),),
        near=r"rediss?://",
    ),
    _Mask(
        "URL password",
        ("://",),
        r"\b[A-Za-z][A-Za-z0-9+.-]{1,30}://[^\s:/?#@\"'<>\\]*:"
        + _NOT_A_VALUE
        + r"(?P<v>[^\s/?#\"'`<>\\]+)@",
        requires=(("@",),),
        near=r"://[^\s:/?#@\"'<>\\]*:[^\s/?#\"'`<>\\]+@",
    ),
    _Mask(
        "sig=",
        ("sig=", "sig%3d"),
        r"(?:[?&;\s]|&amp;|%26|%3[Ff]|^)sig(?:=|%3[Dd])" + _NOT_A_VALUE + r"(?P<v>"
        r"(?:%(?!26|23)[0-9A-Fa-f]{2}|[^&\s\"'`<>#\\%;])+)",
        re.IGNORECASE,
        near=r"sig(?:=|%3d)",
    ),
    _Mask(
        "secret query parameter",
        ("sig", "code", "secret", "token", "key", "pass", "sas"),
        r"(?:[?&]|&amp;|%26|%3[Ff])(?:" + _QUERY_KEYS + r")(?:=|%3[Dd])" + _NOT_A_VALUE + r"(?P<v>"
        r"(?:%(?!26|23)[0-9A-Fa-f]{2}|[^&\s\"'`<>#\\%;])+)",
        re.IGNORECASE,
        requires=(("?", "&", "%26", "%3f"), ("=", "%3d")),
        near=_ending(_QUERY_KEY_ENDINGS, r"(?:=|%3d)"),
    ),
    _Mask(
        "secret=",
        ("key", "pass", "pwd", "secret", "token", "signature"),
        r"(?:(?<![A-Za-z0-9_-])|(?<=%3[Bb]))(?:"
        + _PAIR_KEYS
        + r")"
        + _EQ
        + r"(?:"
        + _QUOTED
        + "|"
        + _BARE
        + ")",
        re.IGNORECASE,
        requires=(_EQ_WORDS,),
        near=_ending(_PAIR_KEY_ENDINGS, _EQ_FOLDED),
    ),
    _Mask(
        '"password": "..."',
        ("passw", "pwd", "secret", "key", "token", "connection"),
        r"\\?[\"']?(?<![A-Za-z0-9_-])(?:" + _JSON_KEYS + r")\\?[\"']?\s*:\s*" + _QUOTED,
        re.IGNORECASE,
        requires=((":",), ('"', "'")),
        near=_ending(_JSON_KEY_ENDINGS, r"\\?[\"']?\s*:\s*\\?[\"']"),
    ),
    _Mask(
        "Authorization header",
        ("authorization",),
        r"(?i:authorization)\\?[\"']?\s*[:=]\s*\\?[\"']?"
        r"(?:(?i:basic|bearer|sharedkey|sharedaccesssignature)\s+)?"
        + _NOT_A_VALUE
        + r"(?P<v>(?=[A-Za-z]*[0-9._~+/=:-])[A-Za-z0-9._~+/=:-]{6,})",
        requires=((":", "="),),
        near=r"authorization\\?[\"']?\s*[:=]",
    ),
    _Mask(
        "Bearer token",
        ("bearer",),
        r"\b[Bb]earer\s+(?P<v>(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{16,})",
        near=r"bearer\s",
    ),
    _Mask(
        "Basic credentials",
        ("basic",),
        r"\b[Bb]asic\s+(?P<v>(?=[A-Za-z]*[0-9+/=])[A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])",
        near=r"basic\s",
    ),
    # An APIM policy header or query parameter that carries a key: its <value> elements.
    _Mask(
        "policy header value",
        ("<value>",),
        r"<(?:" + _XML_HEADER_ELEMENTS + r")\b[^>]*?\bname\s*=\s*\\?[\"']"
        r"(?=[^\"'\\]*?(?:key|secret|token|password|authorization|cookie|signature|code)\\?[\"'])"
        r"[^>]*>(?:(?!</(?:" + _XML_HEADER_ELEMENTS + r")).)*?<value>\s*"
        r"(?!\{\{|@|\*\*\*redacted)(?P<v>[^<]+?)\s*</value>",
        re.IGNORECASE | re.DOTALL,
        near=r"<(?:" + _XML_HEADER_ELEMENTS + ")",
    ),
    _Mask(
        "policy certificate body",
        ("authentication-certificate",),
        r"<authentication-certificate\b[^>]*?\bbody\s*=\s*\\?[\"'](?!\{\{|@)(?P<v>[^\"'\\]+)",
        re.IGNORECASE,
    ),
    _Mask(
        "policy signing key",
        ("<key",),
        r"<key\b[^>]*>\s*(?!\{\{|@)(?P<v>[^<\s][^<]*?)\s*</key>",
        re.IGNORECASE,
        near=r"</key>",
    ),
    # Token formats: the vendor prefix stays as the label.
    _Mask(
        "GitHub token",
        ("github_pat_",),
        r"\bgithub_pat_(?P<v>" + _RED + r"|[A-Za-z0-9_]{22,})",
        exact=_GITHUB,
    ),
    _Mask(
        "GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        r"\bgh[pousr]_(?P<v>" + _RED + r"|[A-Za-z0-9]{20,})",
        exact=_GITHUB,
    ),
    _Mask("Slack token", ("xox",), r"\bxox[abposrec]-(?P<v>" + _RED + r"|[A-Za-z0-9-]{8,})"),
    _Mask(
        "AWS access key",
        ("akia", "asia", "abia", "acca"),
        r"\b(?:AKIA|ASIA|ABIA|ACCA)(?P<v>" + _RED + r"|[A-Z0-9]{16}\b)",
        exact=_AWS,
    ),
    _Mask(
        "JSON web token",
        ("eyj",),
        r"\beyJ(?P<v>" + _RED + r"|[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.?[A-Za-z0-9_-]*)",
        exact=r"eyJ",
    ),
    _Mask(
        "Entra client secret",
        ("q~",),
        r"(?<![A-Za-z0-9_~.-])(?P<v>[A-Za-z0-9_~.-]{3}[78]Q~[A-Za-z0-9_~.-]{31,34})"
        r"(?![A-Za-z0-9_~.-])",
    ),
    # An Azure storage or Cosmos DB account key: 64 random bytes in base64.
    _Mask(
        "account key",
        ("==",),
        r"(?<![A-Za-z0-9+/=-])(?P<v>[A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])",
    ),
]

# Plugins of detect-secrets left out: public IP addresses are not secrets; a private key's header
# line is half of one (the whole block is masked above); Artifactory's `AP...` passwords match
# ordinary resource names; the IBM Cloud, SoftLayer and Cloudant detectors look for keyword
# assignments (`ibm_cloud_iam_key = ...`) that cost more than all the others on a large report
# and name no service prodcheck audits.
_SKIPPED_PLUGINS = frozenset(
    {
        "IPPublicDetector",
        "PrivateKeyDetector",
        "ArtifactoryDetector",
        "IbmCloudIamDetector",
        "IbmCosHmacDetector",
        "SoftlayerDetector",
        "CloudantDetector",
    }
)
# What a detector's match contains (lower case), to skip its pattern cheaply on text without
# it. A detector not listed (a newer detect-secrets may bring more) always runs.
_DETECTOR_TRIGGERS: dict[str, tuple[str, ...]] = {
    "AWSKeyDetector": ("akia", "asia", "abia", "acca", "a3t", "aws"),
    "AzureStorageKeyDetector": ("accountkey",),
    "BasicAuthDetector": ("://",),
    "GitHubTokenDetector": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    "GitLabTokenDetector": ("gl", "gr1348941"),
    "JwtTokenDetector": ("eyj",),
    "MailchimpDetector": ("-us",),
    "NpmDetector": ("_authtoken",),
    "OpenAIDetector": ("t3blbkfj",),
    "PypiTokenDetector": ("pypi-",),
    "SendGridDetector": ("sg.",),
    "SlackDetector": ("xox", "hooks.slack.com"),
    "SquareOAuthDetector": ("sq0csp-",),
    "StripeDetector": ("k_live_",),
    "TwilioKeyDetector": ("ac", "sk"),
    "DiscordBotTokenDetector": (".",),
    "TelegramBotTokenDetector": (":",),
}


# For the detectors whose trigger words are in most lines of a report (`.`, `:`, `ac`), a part
# of their pattern that every match holds, read over a whole document at once instead
# (`_Mask.exact`), by the pattern as detect-secrets ships it. A pattern not listed (another
# version of detect-secrets) is read by its trigger words, as every text is masked.
_DETECTOR_EXACT: dict[str, str] = {
    r"[MNO][a-zA-Z\d_-]{23,25}\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}": (
        r"\.[a-zA-Z\d_-]{6}\.[a-zA-Z\d_-]{27}"
    ),
    r"://[^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+:([^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+)@": (
        r"://[^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+:[^:/\?\#\[\]@!\$\&'\(\)\*\+,;=\s]+@"
    ),
    r"\d{8,10}:[0-9A-Za-z_-]{35}": r":[0-9A-Za-z_-]{35}",
    r"AC[a-z0-9]{32}": r"AC[a-z0-9]{32}",
    r"SK[a-z0-9]{32}": r"SK[a-z0-9]{32}",
    r"[0-9a-z]{32}-us[0-9]{1,2}": r"-us[0-9]",
    r"(glpat|gldt|glft|glsoat|glrt)-[A-Za-z0-9_\-]{20,50}(?!\w)": _GITLAB,
    r"GR1348941[A-Za-z0-9_\-]{20,50}(?!\w)": r"GR1348941",
    r"glcbt-([0-9a-fA-F]{2}_)?[A-Za-z0-9_\-]{20,50}(?!\w)": _GITLAB,
    r"glimt-[A-Za-z0-9_\-]{25}(?!\w)": _GITLAB,
    r"glptt-[A-Za-z0-9_\-]{40}(?!\w)": _GITLAB,
    r"glagent-[A-Za-z0-9_\-]{50,1024}(?!\w)": _GITLAB,
    r"gloas-[A-Za-z0-9_\-]{64}(?!\w)": _GITLAB,
    r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}": _AWS,
    r"(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}": _GITHUB,
    r"eyJ[A-Za-z0-9-_=]+\.[A-Za-z0-9-_=]+\.?[A-Za-z0-9-_.+/=]*?": r"eyJ",
    r"AccountKey=[a-zA-Z0-9+\/=]{88}": r"AccountKey=",
}

# Likewise a `_Mask.near` for a detector whose trigger words are common in a report, and the
# words a document is read for instead of its trigger words (`_Mask.words`).
_DETECTOR_WORDS: dict[str, tuple[str, ...]] = {
    r"aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\'\"]([0-9a-zA-Z/+]{40})[\'\"]": (
        "aws",
    ),
}
_DETECTOR_NEAR: dict[str, str] = {
    r"aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?[\'\"]([0-9a-zA-Z/+]{40})[\'\"]": (
        r"aws.{0,20}?(?:key|pwd|pw|password|pass|token)"
    ),
}


@lru_cache(maxsize=1)
def _detectors() -> list[_Mask]:
    """The regex detectors detect-secrets ships, as masks labelled with their secret type."""
    import importlib
    import pkgutil

    import detect_secrets.plugins as plugins
    from detect_secrets.plugins.base import RegexBasedDetector

    out: list[_Mask] = []
    for info in sorted(pkgutil.iter_modules(plugins.__path__), key=lambda i: i.name):
        if info.name == "base":
            continue
        module = importlib.import_module(f"detect_secrets.plugins.{info.name}")
        for obj in sorted(vars(module).values(), key=lambda o: getattr(o, "__name__", "")):
            if (
                isinstance(obj, type)
                and issubclass(obj, RegexBasedDetector)
                and obj is not RegexBasedDetector
                and obj.__module__ == module.__name__
                and obj.__name__ not in _SKIPPED_PLUGINS
            ):
                triggers = _DETECTOR_TRIGGERS.get(obj.__name__, ("",))
                detector: Any = obj
                for pattern in detector.denylist:
                    exact = None
                    if not pattern.flags & re.IGNORECASE:
                        exact = _DETECTOR_EXACT.get(pattern.pattern)
                    near = _DETECTOR_NEAR.get(pattern.pattern)
                    words = _DETECTOR_WORDS.get(pattern.pattern)
                    out.append(
                        _Mask(
                            str(obj.secret_type),
                            triggers,
                            pattern,
                            near=near,
                            exact=exact,
                            words=words,
                        )
                    )
    return out


# A placeholder in documentation or a template, not a value: `<password>`, `{{named-value}}`.
_PLACEHOLDER = re.compile(
    r"^(?:<[^<>]*>|\{\{[^{}]*\}\}|\$\{[^{}]*\}|%\w+%|pass|password|pwd|secret|key|token|x+|\.\.\.|…)$",
    re.IGNORECASE,
)


def _detected_span(m: re.Match[str]) -> tuple[int, int] | None:
    """The part of a detector's match that `_detected` masks, or None when it masks nothing."""
    whole = m.group(0)
    if REDACTED in whole:
        return None
    if any(_PLACEHOLDER.match(g) for g in (whole, *(x for x in m.groups() if x))):
        return None
    spans = [m.span(g) for g in range(1, (m.re.groups or 0) + 1) if m.group(g)]
    if spans:
        start, end = max(spans, key=lambda s: s[1] - s[0])
        if end - start >= 8:
            return start, end
    return m.span()


def _replace_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with each run of overlapping or touching `spans` replaced by one REDACTED."""
    out, at = [], 0
    for start, end in sorted(spans):
        if start < at:  # overlaps the run just replaced
            if end > at:
                at = end
            continue
        out.append(text[at:start])
        out.append(REDACTED)
        at = end
    out.append(text[at:])
    return "".join(out)


def _detected(m: re.Match[str]) -> str:
    """A detector's match masked: its longest group when that is the secret, else all of it.

    Some detectors group the secret (`aws ... key = "(...)"`), others only a prefix
    (`(ghp|gho)_...`): a group shorter than any secret is not the secret.
    """
    whole = m.group(0)
    if REDACTED in whole:
        return whole
    if any(_PLACEHOLDER.match(g) for g in (whole, *(x for x in m.groups() if x))):
        return whole
    spans = [m.span(g) for g in range(1, (m.re.groups or 0) + 1) if m.group(g)]
    if spans:
        start, end = max(spans, key=lambda s: s[1] - s[0])
        if end - start >= 8:
            offset = m.start()
            return whole[: start - offset] + REDACTED + whole[end - offset :]
    return REDACTED


def mask_credentials(text: str) -> str:
    """`text` with the secret part of each credential in it replaced by REDACTED.

    The label stays (`AccountKey=***redacted***`), so a reader (or a rule, reading a masked
    snapshot) still sees that a credential was there. Collection masks every string it stores
    with this; every exit masks everything it writes.

    A string is masked once per process: the result of each string of up to `_MEMO_LENGTH`
    characters is kept (the most recent `_MEMO_SIZE` of them), since a report repeats the same
    messages, names and evidence in every finding and every format.
    """
    if not isinstance(text, str) or not text:
        return text
    if type(text) is str and len(text) <= _MEMO_LENGTH:
        return _mask_memo(text)
    return _mask(text)


# Strings longer than this are masked each time (they seldom repeat, and would hold memory).
_MEMO_LENGTH = 1024
_MEMO_SIZE = 1 << 16


def _mask(text: str) -> str:
    if _SCREEN_TEXTS and _left_out(text):
        return text  # no mask can match it: what masking would return
    masks = _all_masks().for_text(text)
    # Every mask looks at the text as it came first, so that no mask's value swallows another
    # credential's label (`AccessKey= Password="..."`) before that mask has seen it; then each
    # runs again on the result, for what only shows once a first secret is masked (several
    # <value> elements in one policy header).
    # Ours first: they mark the secret alone. A detector's match that overlaps one of them adds
    # nothing (it would take the label, or the whole URL, with it).
    spans: list[tuple[int, int]] = []
    matched = False
    for mask in masks:
        if mask.precise:
            found, hit = mask.scan(text)
            spans += found
            matched = matched or hit
    for mask in masks:
        if not mask.precise:
            found, hit = mask.scan(text)
            matched = matched or hit
            spans += [
                (start, end)
                for start, end in found
                if not any(start < e and s < end for s, e in spans)
            ]
    if not matched:
        # No pattern matched at all: the second round (each mask's `sub`) would find nothing.
        return text
    if spans:
        text = _replace_spans(text, spans)
    for mask in masks:
        text = mask.sub(text)
    return text


_mask_memo = lru_cache(maxsize=_MEMO_SIZE)(_mask)


def _text_screen() -> _Screen | None:
    built = _MASK_SET
    if not built:
        _all_masks()
    return built[0][1]


# Whether `_mask` first reads a text as `lines_to_mask` reads a line (the tests compare).
_SCREEN_TEXTS = True


def _left_out(text: str) -> bool:
    """Whether `lines_to_mask` would leave `text` out, read as one line: no mask can match it.

    The same reading as a document's (the `exact` patterns, then the trigger words of the
    folded text and, where one is, whether a mask it selects can match), for one string: it
    costs less than choosing the masks by all their trigger words, and most texts a report
    holds (names, ids, messages) stop here."""
    screen = _text_screen()
    if screen is None:
        return False
    for pattern in screen.exact:
        if pattern.search(text) is not None:
            return False
    folded = _fold(text)
    found = [word for word, _ in screen.words if word in folded]
    return not found or not screen.may_match(folded, found)


# The four characters outside ASCII that a case-insensitive pattern takes for an ASCII letter
# (`re.IGNORECASE`: "İ" and "ı" for i, "ſ" for s, the Kelvin sign for k), so that a trigger
# word is found wherever a pattern could match: "paſſword" holds the trigger "pass".
_LOOKALIKE_PAIRS = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))
_ASCII_LOOKALIKES = str.maketrans(dict(_LOOKALIKE_PAIRS))


def _fold(text: str) -> str:
    """`text` in lower case, with the letters a case-insensitive pattern reads as ASCII made so."""
    if not text.isascii():
        text = text.translate(_ASCII_LOOKALIKES)
    return text.lower()


class _MaskSet:
    """Every mask (ours, then the detectors'), indexed by the words that select them."""

    def __init__(self, masks: list[_Mask]) -> None:
        self.masks = masks
        words: dict[str, None] = {}
        for mask in masks:
            for word in (*mask.triggers, *(w for group in mask.requires for w in group)):
                if word:
                    words[word] = None
        self._words = tuple(words)
        # The masks chosen for each combination of words found (few combinations occur).
        self._chosen: dict[tuple[str, ...], list[_Mask]] = {}
        self._screen: _Screen | None = None

    def screen(self) -> _Screen | None:
        """How `lines_to_mask` reads a document; None when a mask runs on every text."""
        if any(
            mask.exact is None
            and (not mask.words or any(not w or not w.isascii() for w in mask.words))
            for mask in self.masks
        ):
            return None
        if self._screen is None:
            self._screen = _Screen(self.masks)
        return self._screen

    def for_text(self, text: str) -> list[_Mask]:
        """The masks whose triggers, and one word of each of whose requirements, `text`
        contains, in order. A mask without a trigger (a detector not listed above) runs on
        every text."""
        lowered = _fold(text)
        found = tuple([word for word in self._words if word in lowered])
        masks = self._chosen.get(found)
        if masks is None:
            present = set(found)
            masks = [
                mask
                for mask in self.masks
                if (not mask.triggers or "" in mask.triggers or present.intersection(mask.triggers))
                and all(present.intersection(group) for group in mask.requires)
            ]
            if len(self._chosen) < 4096:
                self._chosen[found] = masks
        return masks


class _Screen:
    """What `lines_to_mask` reads a document for: the trigger words of the masks read by them
    (only those that hold no other: a text holding `accountkey` holds `key`), each with the
    masks it may select, and the `exact` patterns of the others."""

    def __init__(self, masks: list[_Mask]) -> None:
        by_words = [mask for mask in masks if mask.exact is None]
        words = {word for mask in by_words for word in mask.words}
        minimal = sorted(w for w in words if not any(v != w and v in w for v in words))
        self.words = [(word, word.encode("ascii")) for word in minimal]
        self.masks_of = {
            word: [mask for mask in by_words if any(word in w for w in mask.words)]
            for word in minimal
        }
        exact = {mask.exact.pattern: mask.exact for mask in masks if mask.exact is not None}
        self.exact = list(exact.values())
        self._chosen: dict[tuple[str, ...], list[_Mask]] = {}

    def may_match(self, folded: str, words: list[str]) -> bool:
        """Whether a mask that one of `words` may select can match the line whose folded text
        is `folded`: one of its trigger words and one word of each of its requirements are
        there (it is selected, as `_MaskSet.for_text` selects), and its `near` pattern finds
        something."""
        key = tuple(words)
        masks = self._chosen.get(key)
        if masks is None:
            masks = list({id(m): m for word in words for m in self.masks_of[word]}.values())
            if len(self._chosen) < 4096:
                self._chosen[key] = masks
        for mask in masks:
            if (
                any(t in folded for t in mask.triggers)
                and all(any(w in folded for w in group) for group in mask.requires)
                and (not mask.near or any(p.search(folded) for p in mask.near))
            ):
                return True
        return False


def lines_to_mask(lines: list[str]) -> list[str]:
    """Those of `lines` that `mask_credentials` may change: it leaves every other one as it is.

    A whole document's lines are read at once, at the speed of `str.find` and of a pattern
    with a literal start, rather than line by line: the trigger words in the folded text (see
    `_fold`), then, for a line where one is, whether a mask it selects can match there (its
    requirements and its `near` pattern); and the `exact` patterns of the masks whose trigger
    words are everywhere. No word or pattern read here spans a line break, so what is found in
    the whole is found in the line. A mask without trigger words (a detector not listed) runs
    on every line, so then every line is returned.
    """
    screen = _text_screen()
    if screen is None or not lines:
        return lines
    joined = "".join(lines)
    # The trigger words are ASCII: they are looked for in the folded text as bytes, one byte
    # per character, every character outside ASCII (none folds to a trigger word's letter
    # once the look-alikes are made ASCII) made a "?".
    folded = joined
    if not folded.isascii():
        for odd, ascii_letter in _LOOKALIKE_PAIRS:
            if odd in folded:
                folded = folded.replace(odd, ascii_letter)
    data = folded.encode("ascii", "replace").lower()
    del folded
    if len(data) != len(joined):
        return lines
    ends = list(accumulate(map(len, lines)))
    found: dict[int, list[str]] = {}
    for word, word_bytes in screen.words:
        at = data.find(word_bytes)
        while at != -1:
            n = bisect_right(ends, at)
            found.setdefault(n, []).append(word)
            at = data.find(word_bytes, ends[n])
    chosen: set[int] = set()
    for pattern in screen.exact:
        match = pattern.search(joined)
        while match is not None:
            n = bisect_right(ends, match.start())
            chosen.add(n)
            match = pattern.search(joined, ends[n])
    for n, words in found.items():
        if n not in chosen and screen.may_match(_fold(lines[n]), words):
            chosen.add(n)
    return [lines[n] for n in sorted(chosen)]


def _all_masks() -> _MaskSet:
    """Every mask, built once per process.

    Built under a lock: the collector's threads all mask their first answers at about the same
    moment, and each would otherwise import detect-secrets' detectors and compile their patterns
    on its own (64 times over, per collecting process, at the start of a tenant's reads)."""
    built = _MASK_SET
    if built:
        return built[0][0]
    with _MASK_SET_LOCK:
        if not built:
            masks = _MaskSet(_MASKS + _detectors())
            built.append((masks, masks.screen()))  # its screen too, while no other thread asks
    return built[0][0]


def prepare_masks() -> None:
    """Build the masks now, if they are not built yet.

    Called before a process forks copies of itself (`prodcheck.fanout`): each copy would
    otherwise import detect-secrets' detectors and compile their patterns again, a tenth of a
    second or more of every copy's time."""
    _all_masks()


# The masks and their screen, once built (see `_all_masks`).
_MASK_SET: list[tuple[_MaskSet, _Screen | None]] = []
_MASK_SET_LOCK = threading.Lock()


# ---- detection (what rules flag) -------------------------------------------------------------

# (label, pattern) for values that carry a credential. Kept for rules and plugins that list them.
VALUE_PATTERNS: list[tuple[str, re.Pattern[str]]] = [(m.label, m.pattern) for m in _MASKS]


def _specific_label(value: str) -> str | None:
    if type(value) is str and len(value) <= _MEMO_LENGTH:
        return _label_memo(value)
    return _label(value)


def _label(value: str) -> str | None:
    for mask in _all_masks().for_text(value):
        if mask.search(value):
            return mask.label
    return None


_label_memo = lru_cache(maxsize=_MEMO_SIZE)(_label)


# Names of variables, settings or tags that hold a credential when they hold a literal value.
NAME_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("*CONNECTION_STRING*", re.compile(r"CONNECTION_?STRING", re.IGNORECASE)),
    (
        "*_KEY",
        re.compile(
            r"(^|[_-])(API_?|ACCESS_?|ACCOUNT_?|SECRET_?|PRIMARY_?|SECONDARY_?|MASTER_?|"
            r"SUBSCRIPTION_?|FUNCTION_?|SAS_?|SIGNING_?|PRIVATE_?|ENCRYPTION_?|AUTH_?)?KEY$",
            re.IGNORECASE,
        ),
    ),
    ("*_SECRET", re.compile(r"SECRET($|[_-])", re.IGNORECASE)),
    ("*_TOKEN", re.compile(r"(^|[_-])(\w+_?)?TOKEN$", re.IGNORECASE)),
    ("*_PASSWORD", re.compile(r"PASSWORD|PASSWD|(^|[_-])PWD($|[_-])", re.IGNORECASE)),
]

# An Application Insights connection string carries an instrumentation key, which
# identifies where telemetry goes; it is not a credential.
_APP_INSIGHTS = re.compile(r"^\s*InstrumentationKey=[0-9a-fA-F-]{36}(;[A-Za-z]+=[^;]*)*;?\s*$")
_APP_INSIGHTS_NAME = re.compile(r"APPLICATIONINSIGHTS_CONNECTION_STRING|APPINSIGHTS", re.IGNORECASE)


_KEY_VAULT_REFERENCE = "@microsoft.keyvault("
_REFERENCE = re.compile(r"^\s*(?:@microsoft\.keyvault\(|\{\{[^{}]*\}\}\s*$|secretref:)", re.I)


def is_app_insights_connection_string(name: str, value: str) -> bool:
    """True for an Application Insights connection string (an identifier, not a credential)."""
    if not isinstance(value, str):
        return False
    if credential_in_value(value):
        # Instrumentation key or not, a value that also carries a key or password is a credential.
        return False
    if _APP_INSIGHTS.match(value):
        return True
    return bool(_APP_INSIGHTS_NAME.search(name or "")) and "instrumentationkey=" in value.lower()


def credential_in_value(value: Any) -> str | None:
    """The label of the credential found in `value` (raw or already masked), or None."""
    if not isinstance(value, str) or not value:
        return None
    label = _specific_label(value)
    if label is None and REDACTED in value:
        return "masked credential"
    return label


def credential_name(name: str) -> str | None:
    """The label of the credential-like name pattern `name` matches, or None."""
    for label, pattern in NAME_PATTERNS:
        if pattern.search(name or ""):
            return label
    return None


def credential_in_setting(name: str, value: Any) -> str | None:
    """Why a name/literal-value pair is a credential (the matched pattern), or None.

    An Application Insights connection string is not reported here, nor a reference to where a
    secret is kept (`@Microsoft.KeyVault(SecretUri=...)`, an APIM `{{named value}}`).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    if is_app_insights_connection_string(name, value):
        return None
    if _REFERENCE.match(value):
        return None
    return (
        _specific_label(value)
        or credential_name(name)
        or ("masked credential" if REDACTED in value else None)
    )


def mask_setting(name: str, value: str) -> str:
    """A setting's literal value as it may be stored or shown.

    A credential inside is masked where it sits; a literal under a credential-like name
    (`DB_PASSWORD`) that shows no recognisable form is replaced whole. References to where a
    secret is kept, and Application Insights connection strings, stay.
    """
    masked = mask_credentials(value)
    if masked != value or not value.strip() or REDACTED in value:
        return masked
    if credential_name(name) and credential_in_setting(name, value):
        return REDACTED
    return value


# ---- structures: where ARM keeps secrets by name -------------------------------------------

# Fields that hold a key, password or token whenever they hold a value (lower case).
SECRET_FIELDS = frozenset(
    name.lower()
    for name in (
        "primaryKey",
        "secondaryKey",
        "primaryConnectionString",
        "secondaryConnectionString",
        "primaryMasterKey",
        "secondaryMasterKey",
        "primaryReadonlyMasterKey",
        "secondaryReadonlyMasterKey",
        "accessKeys",
        "accountKey",
        "storageAccountKey",
        "storageAccessKey",
        "sharedKey",
        "sharedAccessKey",
        "sasToken",
        "password",
        "adminPassword",
        "adminUserPassword",
        "administratorLoginPassword",
        "clientSecret",
        "secretValue",
        "secureValue",
        "apiKey",
        "accessToken",
        "refreshToken",
        "repositoryToken",
        "gitHubToken",
        "personalAccessToken",
        "webhookSecret",
        "authKey",
        "certificatePassword",
        "pfxPassword",
    )
)

_SECRET_KEYS = re.compile(
    r"(password|secret|connectionstring|connection_string|accountkey|sharedaccesskey|primarykey|secondarykey)",
    re.IGNORECASE,
)


@lru_cache(maxsize=4096)
def _secret_key(key: str) -> bool:
    """True for a key whose string value `redact` replaces (`password`, `connectionString`)."""
    return _SECRET_KEYS.search(key) is not None


def _env_style(key: str) -> bool:
    """A setting or tag name (`DB_PASSWORD`, `api-key`), not an ARM property (`secretName`)."""
    return "_" in key or "-" in key or (key.isupper() and len(key) > 2)


@lru_cache(maxsize=4096)
def _credential_key(key: str) -> bool:
    """True for a setting or tag name that says credential (`API_KEY`, `client-secret`)."""
    return _env_style(key) and credential_name(key) is not None


def redact_mapping(
    d: dict[str, Any], walk: Callable[[Any], Any], secret_fields: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A mapping's entries with secrets held by structure replaced; other values through `walk`.

    - `{"name": "DB_PASSWORD", "value": "..."}` (an app setting, a container's variable): the
      value, by `mask_setting`;
    - `{"secret": true, "value": "..."}` (an APIM named value): the value;
    - `{"secrets": [{"name": ..., "value": ...}]}` (a container app's secrets): each value;
    - a resource of a `.../secrets` type (a Key Vault secret): `properties.value`;
    - a setting or tag whose name says credential (`API_KEY`, `client-secret`): its value;
    - a field named in `secret_fields` (lower case): its value.
    """
    out: dict[str, Any] = {}
    name = d.get("name")
    secret_entry = d.get("secret") is True or str(d.get("secret")).lower() == "true"
    kv_secret = isinstance(d.get("type"), str) and d["type"].lower().endswith("/secrets")
    for key, item in d.items():
        k = walk(key) if isinstance(key, str) else key
        lower = str(key).lower()
        if isinstance(item, str) and item:
            if (
                lower in secret_fields
                or lower == "value"
                and secret_entry
                and not _REFERENCE.match(item)
            ):
                out[k] = REDACTED
            elif lower == "value" and isinstance(name, str):
                out[k] = walk(mask_setting(name, item))
            elif _credential_key(str(key)):
                out[k] = walk(mask_setting(str(key), item))
            else:
                out[k] = walk(item)
        elif lower == "secrets" and isinstance(item, list):
            out[k] = [
                walk({**s, "value": REDACTED})
                if isinstance(s, dict) and isinstance(s.get("value"), str) and s["value"]
                else walk(s)
                for s in item
            ]
        elif kv_secret and lower == "properties" and isinstance(item, dict):
            props = dict(item)
            if isinstance(props.get("value"), str) and props["value"]:
                props["value"] = REDACTED
            out[k] = walk(props)
        else:
            out[k] = walk(item)
    return out


# Values `redact` returns as they are: a list of only these is copied without a walk.
_PLAIN = frozenset((int, float, bool, type(None)))


def redact(value: Any, key: str = "") -> Any:
    """A copy of `value` with every credential replaced by REDACTED.

    Strings that hold a credential are redacted wholesale; mappings are walked, and a string
    under a secret-sounding key (`password`, `connectionString`, ...) is redacted too, as are
    secrets held by structure (see `redact_mapping`). Application Insights connection strings
    pass through.
    """
    if isinstance(value, dict):
        plain = _plain_mapping(value) if type(value) is dict else None
        if plain is not None:
            return plain
        out = {}
        for k, v in value.items():
            if isinstance(v, str) and _secret_key(str(k)):
                out[k] = v if is_app_insights_connection_string(str(k), v) else REDACTED
            else:
                out[k] = v
        return redact_mapping(out, lambda v: redact(v))
    if isinstance(value, list):
        if _PLAIN.issuperset(map(type, value)):
            return list(value)  # numbers (a metric's series) hold no credential
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if type(value) is str and type(key) is str and len(value) + len(key) <= _MEMO_LENGTH:
            return _redacted_text_memo(key, value)
        return _redacted_text(key, value)
    return value


def _plain_mapping(d: dict[Any, Any]) -> dict[Any, Any] | None:
    """`redact(d)` when no key of `d` means anything to `redact_mapping` (no secret-sounding or
    credential key, no `value`, `secrets` or `properties`), so that each entry is only walked;
    None otherwise."""
    out: dict[Any, Any] = {}
    for k, v in d.items():
        shown = _plain_key(k) if type(k) is str and len(k) <= _MEMO_LENGTH else None
        if shown is None:
            return None
        kind = type(v)
        if kind is str:  # as `redact(v)` reads a string, without its checks on the way
            out[shown] = (
                _redacted_text_memo("", v) if len(v) <= _MEMO_LENGTH else _redacted_text("", v)
            )
        else:
            out[shown] = v if kind in _PLAIN else redact(v)
    return out


@lru_cache(maxsize=4096)
def _plain_key(key: str) -> str | None:
    """`key` as `redact_mapping` shows it, or None when the key decides how its value is redacted."""
    if key.lower() in ("value", "secrets", "properties") or _secret_key(key):
        return None
    if _credential_key(key):
        return None
    shown: str = redact(key)
    return shown


def redact_text(value: str) -> str:
    """`redact(value)` of a string (REDACTED when it holds a credential), as `redact` reads
    every string it meets inside a mapping or a list."""
    if type(value) is str and len(value) <= _MEMO_LENGTH:
        return _redacted_text_memo("", value)
    return _redacted_text("", value)


def plain_key(key: str) -> str | None:
    """`key` as `redact` shows it in a mapping, or None when the key decides how its value is
    redacted (then `redact` reads the whole mapping the long way)."""
    if type(key) is not str or len(key) > _MEMO_LENGTH:
        return None
    return _plain_key(key)


def _redacted_text(key: str, value: str) -> str:
    if is_app_insights_connection_string(key, value):
        return value
    if credential_in_value(value):
        return REDACTED
    return value


_redacted_text_memo = lru_cache(maxsize=_MEMO_SIZE)(_redacted_text)
