"""The `flow` resource of `pii-mask` (componentize-py takes an exported
resource's class from the module named after its interface, `stage`)."""

from __future__ import annotations

from componentize_py_types import Err
from wit_world.exports import stage as stage_exports
from wit_world.imports import columns, host, types

import app


class Flow(stage_exports.Flow):
    def __init__(self, masks: dict):
        self.masks = masks  # column name -> mask function

    @classmethod
    def open(cls, options: str, inputs: list[types.NamedSchema], context: types.RunContext) -> "Flow":
        # The host plans before it opens, but a flow must not trust that.
        return cls(app.parse_options(options, app.input_fields(inputs)))

    def ingest(self, file: types.LandingFile) -> None:
        raise Err(types.Error_Internal(f"{app.NAME} is a transform stage: it does not ingest files"))

    def push(self, input: str, batch: bytes) -> None:
        try:
            cols = columns.decode(batch)
        except Err as e:
            raise Err(types.Error_InvalidData(f"input `{input}`: {e.value}"))
        masked = 0
        for col in cols:
            mask = self.masks.get(col.name)
            if mask is None:
                continue
            if not isinstance(col.values, columns.Values_Utf8):
                # plan checked the type; a batch that disagrees is the host's bug.
                raise Err(types.Error_InvalidData(f"column `{col.name}` is not utf8 in this batch"))
            values = [None if v is None else mask(v) for v in col.values.value]
            masked += sum(v is not None for v in values)
            col.values = columns.Values_Utf8(values)
        try:
            columns.emit("main", cols)
        except Err as e:
            # The host refused the batch: return its reason as the stage's error.
            raise Err(types.Error_Internal(f"the host refused the output batch: {e.value}"))
        host.add_counter("masked_values", masked)

    def finish(self) -> None:
        pass  # every batch is emitted as it arrives
