"""Commands that do not collect from Azure never import the Azure SDKs (over a second to load)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from prodcheck.cli import main
try:
    main({args!r})
except SystemExit:
    pass
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(sorted(m for m in sys.modules if m.startswith("azure"))), file=sys.stderr)
"""


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["rules", "list"],
        ["audit", "--demo", "-f", "json"],
        ["audit", "--demo", "hardened"],
    ],
)
def test_offline_commands_do_not_import_the_azure_sdks(args):
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(args=args)], capture_output=True, text=True, check=True
    )
    line = [x for x in result.stderr.splitlines() if x.startswith("MODULES=")][-1]
    assert json.loads(line.removeprefix("MODULES=")) == []
