"""One keyset-paginated search query, shared by every SQL search method."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import FromClause

from ...paging import decode_page_token, encode_page_token, token_int, token_scalars
from ...search.ast import Expr, OrderKey
from ...validation import validate_max_results
from .query import fingerprint, parse_query
from .search_sql import EntitySpec, build_order, compile_filter, keyset_after, plain_value

__all__ = ["parse_query", "paged_select", "fingerprint"]


def _kind(expr: ColumnElement[Any]) -> Optional[type]:
    """``int``, ``float`` or ``str`` for a sort column of that kind (None: unknown)."""
    try:
        python_type = expr.type.python_type
    except (NotImplementedError, AttributeError):
        return None
    if python_type is bool:
        return None
    if issubclass(python_type, (int, float)):
        return float if issubclass(python_type, float) else int
    return str if issubclass(python_type, str) else None


def paged_select(
    conn: Connection,
    *,
    columns: Sequence[ColumnElement[Any]],
    base: FromClause,
    where: Sequence[ColumnElement[bool]],
    expr: Optional[Expr],
    keys: Sequence[OrderKey],
    spec: EntitySpec,
    max_results: Optional[int],
    page_token: Optional[str],
    query: str,
    bound_column: Optional[ColumnElement[Any]] = None,
    key: Optional[bytes] = None,
) -> tuple[list[RowMapping], Optional[str]]:
    """Rows of one page and the token of the next (None at the end).

    ``bound_column`` (an increasing creation id) keeps rows created after the
    first page out of later pages.  ``key`` is the store's page-token secret;
    every value read back from a token is checked against the type of its
    sort column before it reaches the query.
    """
    limit = validate_max_results(max_results)
    dialect = conn.dialect.name
    from_, sort = build_order(keys, spec, base)
    conds = list(where) + [compile_filter(expr, spec, dialect)]
    bound = None
    if page_token:
        payload = decode_page_token(page_token, query, key=key)
        values = token_scalars(
            payload.get("v"), len(sort), "v", [_kind(c.expr) for c in sort], nullable=False
        )  # sort values are coalesced: never NULL
        conds.append(keyset_after(sort, values))
        bound = payload.get("b")
        if bound is not None:
            bound = token_int(bound, "b", minimum=-(2**63))
    elif bound_column is not None:
        bound = conn.execute(sa.select(sa.func.max(bound_column))).scalar()
    if bound_column is not None and bound is not None:
        conds.append(bound_column <= bound)
    labels = [c.expr.label(f"_sk{i}") for i, c in enumerate(sort)]
    stmt = (
        sa.select(*columns, *labels)
        .select_from(from_)
        .where(*conds)
        .order_by(*[lab.asc() if c.ascending else lab.desc() for lab, c in zip(labels, sort)])
        .limit(limit + 1)
    )
    rows = list(conn.execute(stmt).mappings())
    token = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        payload = {"v": [plain_value(last[f"_sk{i}"]) for i in range(len(sort))], "b": bound}
        token = encode_page_token(payload, query, key=key)
    return rows, token
