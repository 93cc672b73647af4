"""`pii-mask`: an lfhost transform stage, written in Python, that masks
personal data in string columns (e-mail addresses, phone numbers, anything
to redact) and passes every other column through unchanged.

Built into a component with componentize-py (see README.md). This module
holds the option checks, the masks and the `stage` interface's free
functions; `stage.py` holds the `flow` resource, because componentize-py
looks for an exported resource's class in a module named after its
interface.

The plugin has no Arrow library: it reads and writes batches through the
host's `columns` interface as plain lists of optional strings.
"""

from __future__ import annotations

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import columns, types

NAME = "pii-mask"
VERSION = "0.1.0"


# ------------------------------------------------------------- masks --


def mask_email(value: str) -> str:
    """Keeps the local part's first character and the whole domain, so masked
    addresses still group by domain: jane.doe@example.com -> j***@example.com."""
    if "@" not in value:
        return "***"
    local, domain = value.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


DIGITS = "0123456789"  # ASCII only: what a phone number is written with


def mask_phone(value: str) -> str:
    """Stars every digit but the last four, keeping the punctuation so the
    number's shape stays readable: +1-555-010-0100 -> +*-***-***-0100. With
    fewer than five digits, keeping four would keep (nearly) all: star all."""
    digits = sum(c in DIGITS for c in value)
    keep = 4 if digits >= 5 else 0
    out = []
    seen = 0
    for c in value:
        if c in DIGITS:
            seen += 1
            out.append(c if seen > digits - keep else "*")
        else:
            out.append(c)
    return "".join(out)


def redact(_value: str) -> str:
    return "[REDACTED]"


METHODS = {"email": mask_email, "phone": mask_phone, "redact": redact}


# ----------------------------------------------------------- options --


def option_error(path: str, message: str) -> Err:
    """The stage's `result<_, error>` failure: componentize-py turns a raised
    `Err(value)` into the WIT `err(value)`."""
    return Err(types.Error_InvalidOption(types.OptionError(path=path, message=message)))


def input_fields(inputs: list[types.NamedSchema]) -> list[columns.Field]:
    """The fields of the one input, through the host (no Arrow here)."""
    if len(inputs) != 1:
        raise Err(types.Error_Internal(f"{NAME} takes exactly one input, got {len(inputs)}"))
    try:
        return columns.schema_fields(inputs[0].schema)
    except Err as e:  # an input column of a type `columns` does not carry
        raise Err(types.Error_InvalidData(f"input `{inputs[0].name}`: {e.value}"))


def parse_options(text: str, fields: list[columns.Field]) -> dict[str, object]:
    """Checks the options against the input's fields; returns
    {column name: mask function}. Raises the first problem as an
    invalid-option error whose path points at the TOML key."""
    try:
        options = json.loads(text)
    except ValueError as e:
        raise option_error("", f"not a JSON object: {e}")
    if not isinstance(options, dict):
        raise option_error("", "must be a table")
    for key in options:
        if key != "mask":
            raise option_error(key, f"unknown option `{key}`; expected `mask`")
    mask = options.get("mask")
    if not isinstance(mask, dict) or not mask:
        raise option_error("mask", 'required: a table of column = method, e.g. { email = "email" }')

    by_name = {f.name: f for f in fields}
    plan = {}
    for column, method in mask.items():
        path = f"mask.{column}"
        field = by_name.get(column)
        if field is None:
            names = ", ".join(f.name for f in fields)
            raise option_error(path, f"no column `{column}` in the input; its columns are {names}")
        if field.type != columns.ColumnType.UTF8:
            kind = field.type.name.lower().replace("_", "-")
            raise option_error(path, f"column `{column}` is {kind}; only utf8 (string) columns can be masked")
        if not isinstance(method, str) or method not in METHODS:
            raise option_error(path, f"unknown method {json.dumps(method)}; expected one of {', '.join(METHODS)}")
        plan[column] = METHODS[method]
    return plan


# ------------------------------------------------------------- stage --


def option_doc(name, type_name, required, default, description) -> types.OptionDoc:
    return types.OptionDoc(
        name=name, type_name=type_name, required=required, default_value=default, description=description
    )


class Stage(exports.Stage):
    def describe(self) -> types.Descriptor:
        return types.Descriptor(
            name=NAME,
            version=VERSION,
            description="Masks personal data in string columns; every other column passes through unchanged.",
            kind=types.StageKind.TRANSFORM,
            options=[
                option_doc(
                    "mask",
                    'table<column, "email" | "phone" | "redact">',
                    True,
                    None,
                    "Columns to mask and how. email: j***@example.com (first character of the local part, "
                    "domain kept; *** without an @). phone: every digit but the last four starred (all of them "
                    "when there are fewer than five). redact: [REDACTED]. Nulls stay null.",
                )
            ],
        )

    def plan(self, options: str, inputs: list[types.NamedSchema]) -> list[types.NamedSchema]:
        parse_options(options, input_fields(inputs))
        # Masking changes values, never the schema: the output is the input's.
        return [types.NamedSchema(name="main", schema=inputs[0].schema)]
