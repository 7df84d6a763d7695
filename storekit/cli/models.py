"""``storekit models``: list and show registered models."""

from __future__ import annotations

from typing import Optional

import click

from ..entities import ModelVersion
from ._output import (
    client_from_context,
    collect_pages,
    format_time,
    handle_errors,
    print_fields,
    print_json,
    print_table,
)

__all__ = ["models", "quote_filter_value"]


def quote_filter_value(value: str) -> str:
    """``value`` as a quoted string literal of the filter language."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _latest(versions: tuple[ModelVersion, ...]) -> str:
    return ", ".join(f"{v.current_stage}: v{v.version}" for v in versions)


def _aliases(aliases: dict[str, str]) -> str:
    return ", ".join(f"@{a} -> v{v}" for a, v in sorted(aliases.items()))


@click.group()
def models() -> None:
    """List and show registered models."""


@models.command("list")
@click.option("--filter", "filter_string", default=None, help="Filter, e.g. \"name LIKE 'fraud%'\".")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@handle_errors
def list_models(ctx: click.Context, filter_string: Optional[str], as_json: bool) -> None:
    """List registered models."""
    client = client_from_context(ctx)
    found = collect_pages(lambda token: client.search_registered_models(filter_string, page_token=token))
    if as_json:
        print_json(found)
        return
    print_table(
        ("Name", "Latest versions", "Aliases", "Updated", "Description"),
        (
            (
                m.name,
                _latest(m.latest_versions),
                _aliases(m.aliases),
                format_time(m.last_updated_timestamp),
                m.description,
            )
            for m in found
        ),
        title="Registered models",
    )


@models.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
@click.pass_context
@handle_errors
def show_model(ctx: click.Context, name: str, as_json: bool) -> None:
    """Show a registered model with its versions, stages and aliases."""
    client = client_from_context(ctx)
    model = client.get_registered_model(name)
    versions = collect_pages(
        lambda token: client.search_model_versions(f"name = {quote_filter_value(name)}", page_token=token)
    )
    versions.sort(key=lambda v: int(v.version), reverse=True)
    if as_json:
        print_json({"model": model, "versions": versions})
        return
    print_fields(
        [
            ("name", model.name),
            ("description", model.description),
            ("created", format_time(model.creation_timestamp)),
            ("updated", format_time(model.last_updated_timestamp)),
            ("aliases", _aliases(model.aliases)),
            ("tags", ", ".join(f"{k}={v}" for k, v in sorted(model.tags.items()))),
        ],
        title=f"Registered model {model.name}",
    )
    print_table(
        ("Version", "Stage", "Status", "Aliases", "Run ID", "Source", "Created"),
        (
            (
                v.version,
                v.current_stage,
                v.status,
                ", ".join(f"@{a}" for a in sorted(v.aliases)),
                v.run_id,
                v.source,
                format_time(v.creation_timestamp),
            )
            for v in versions
        ),
        title="Versions",
    )
