from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.schema import schema

ROOT = Path(__file__).resolve().parent.parent


def test_schema_file_equals_the_served_schema():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed == schema.as_str() + "\n", "run `relata export-schema > schema.graphql`"


def test_export_schema_command_prints_the_schema():
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "export-schema"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert out == (ROOT / "schema.graphql").read_text()


async def test_served_schema_introspects_to_the_same_types(tenant):
    data = await tenant.user.ok("{ __schema { types { name } } }")
    served = {t["name"] for t in data["__schema"]["types"]}
    for name in (
        "Node",
        "Record",
        "Contact",
        "Company",
        "Opportunity",
        "CustomObjectRecord",
        "Association",
        "Relation",
        "RelationConnection",
        "RelationEdge",
        "ObjectSchema",
    ):
        assert name in served
