"""What the security checks are run over, read from the app itself so new routes are included:
every /v1 operation with the key scopes it declares, the phone-number and message-text fields
of their inputs, and a count of every table's rows to tell whether a refused request changed
the store."""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, HttpUrl
from sqlalchemy.engine import Engine

from api.deps import route_scopes
from api.limits import BodyLimit
from api.schemas import PhoneNumber, SmsText

Kind = Literal["phone", "text"]
Where = Literal["body", "query", "path"]

# The validators that make a str a phone number or a message text (api/schemas.py).
_MARKERS: dict[object, Kind] = {typing.get_args(PhoneNumber)[1]: "phone", typing.get_args(SmsText)[1]: "text"}
_SAMPLE: dict[Kind, str] = {"phone": "+31612345678", "text": "hello"}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # /v1/messages/{message_id}
    body: type[BaseModel] | None  # the JSON body's model; None when the route takes none
    takes_body: bool  # reads a request body (a model, or raw bytes it documents)
    path_types: dict[str, Any]
    params: tuple[tuple[Where, str, Kind], ...]  # phone-number and text query / path parameters
    scopes: tuple[str, ...] = ()  # the key scopes the route declares (api.deps.RequireScope)

    def path(self, **values: str) -> str:
        """The template with every path parameter filled in (given values, else a sample)."""
        out = self.template
        phones = {name for where, name, kind in self.params if where == "path" and kind == "phone"}
        for name, annotation in self.path_types.items():
            value = values.get(name, _SAMPLE["phone"] if name in phones else _path_sample(name, annotation))
            out = out.replace("{" + name + "}", value)
        return out

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True)
class Field:
    """A phone-number or message-text input of an operation."""

    operation: Operation
    where: Where
    name: str  # dotted for nested body fields, as the 422 error names it
    kind: Kind

    def __str__(self) -> str:
        return f"{self.operation} {self.where}:{self.name}"


def v1_operations(app: FastAPI) -> list[Operation]:
    """Every /v1 method and path the app serves; checked against its OpenAPI schema."""
    found = []
    paths = app.openapi()["paths"]
    for route in _routes(app.routes):
        if not route.path.startswith("/v1/"):
            continue
        model = route.body_field.field_info.annotation if route.body_field is not None else None
        body = _body_model(model)
        params = list(_params(route.dependant))
        path_types = {p.alias: p.field_info.annotation for where, p in params if where == "path"}
        typed = tuple(
            (where, p.alias, kind)
            for where, p in params
            for kind in sorted(_kinds(p.field_info.annotation, p.field_info.metadata))
        )
        for method in sorted(route.methods):
            documented_body = "requestBody" in paths.get(route.path, {}).get(method.lower(), {})
            takes_body = route.body_field is not None or documented_body
            scopes = tuple(route_scopes(route.dependant))
            found.append(Operation(method, route.path, body, takes_body, path_types, typed, scopes))
    documented = {(method.upper(), path) for path, item in paths.items() if path.startswith("/v1/") for method in item}
    assert {(o.method, o.template) for o in found} == documented, "routes and OpenAPI schema disagree"
    return found


def phone_and_text_fields(operations: Iterable[Operation]) -> list[Field]:
    """The inputs typed PhoneNumber or SmsText: in bodies (nested too), queries and paths."""
    fields = []
    for op in operations:
        if op.body is not None:
            fields += [Field(op, "body", name, kind) for name, kind in _model_fields(op.body)]
        fields += [Field(op, where, name, kind) for where, name, kind in op.params]
    return fields


def minimal_body(model: type[BaseModel]) -> dict[str, Any]:
    """A body with only the required fields, each with a plain valid value."""
    body = {}
    for name, info in model.model_fields.items():
        if info.is_required():
            body[info.alias or name] = _sample(info.annotation, info.metadata)
    model.model_validate(body)  # fails here, naming the field, when a new type needs a sample
    return body


def body_with(model: type[BaseModel], name: str, value: Any) -> dict[str, Any]:
    """A valid minimal body of `model` with the (dotted) field `name` set to `value`."""
    body = minimal_body(model)
    *parents, leaf = name.split(".")
    target, current = body, model
    for alias in parents:
        current = _child_model(current, alias)
        target = target.setdefault(alias, minimal_body(current))
    info = next((f for n, f in current.model_fields.items() if (f.alias or n) == leaf), None)
    if info is not None and typing.get_origin(info.annotation) in (list, set, tuple):
        value = [value]  # a list of numbers: the hostile one is its item
    target[leaf] = value
    return body


def body_limit(app: FastAPI, path: str) -> int:
    """The request-body limit the app's BodyLimit middleware applies to `path`."""
    (limit,) = [m.kwargs for m in app.user_middleware if m.cls is BodyLimit]
    return limit.get("per_path", {}).get(path, limit["max_bytes"])


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, every table, in one query."""
    tables = sa.inspect(engine).get_table_names()
    query = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM \"{t}\"" for t in tables)
    with engine.connect() as conn:
        return {name: count for name, count in conn.execute(sa.text(query))}


# --- reading routes -----------------------------------------------------------------------


def _routes(routes: Iterable[Any]) -> Iterator[APIRoute]:
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI keeps an included router whole
        if included is not None:
            yield from _routes(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def _body_model(annotation: Any) -> type[BaseModel] | None:
    """The model of a JSON body, also of an optional one (`Model | None`)."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _params(dependant: Any) -> Iterator[tuple[Where, Any]]:
    for where in ("query", "path"):
        for param in getattr(dependant, f"{where}_params"):
            yield where, param  # type: ignore[misc]
    for sub in dependant.dependencies:
        yield from _params(sub)


def _kinds(annotation: Any, metadata: Iterable[object] = ()) -> set[Kind]:
    found = {_MARKERS[m] for m in metadata if _hashable(m) and m in _MARKERS}
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *extra = typing.get_args(annotation)
        return found | _kinds(inner, extra)
    for arg in typing.get_args(annotation):
        found |= _kinds(arg)
    return found


def _hashable(value: object) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _model_fields(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, Kind]]:
    for name, info in model.model_fields.items():
        alias = prefix + (info.alias or name)
        for kind in sorted(_kinds(info.annotation, info.metadata)):
            yield alias, kind
        for arg in (info.annotation, *typing.get_args(info.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                yield from _model_fields(arg, alias + ".")


def _child_model(model: type[BaseModel], alias: str) -> type[BaseModel]:
    info = next(i for n, i in model.model_fields.items() if (i.alias or n) == alias)
    return next(
        a
        for a in (info.annotation, *typing.get_args(info.annotation))
        if isinstance(a, type) and issubclass(a, BaseModel)
    )


def _sample(annotation: Any, metadata: Iterable[object] = ()) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (list, set, tuple):
        return [_sample(typing.get_args(annotation)[0])]
    kinds = _kinds(annotation, metadata)
    if kinds:
        return _SAMPLE[sorted(kinds)[0]]
    if origin is Literal:
        return typing.get_args(annotation)[0]
    if origin is typing.Annotated:
        return _sample(*typing.get_args(annotation)[:1])
    if origin in (list, set, tuple):
        return [_sample(typing.get_args(annotation)[0])]
    if origin is dict:
        return {}
    if annotation is bool:
        return False
    if annotation is int:
        return 1
    if annotation is str:
        return "sample"
    if annotation is HttpUrl:
        return "http://127.0.0.1:9/hook"  # the discard port: nothing is ever delivered there
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return minimal_body(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args:
        return _sample(args[0])
    raise AssertionError(f"no sample value for {annotation!r}: add one to tests.support.security._sample")


def _path_sample(name: str, annotation: Any) -> str:
    base = typing.get_args(annotation)[0] if typing.get_origin(annotation) is typing.Annotated else annotation
    return "1" if base is int else "sim1" if name == "modem_id" else "x"
