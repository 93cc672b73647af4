"""What both peer pipelines share: the tables they write and how they list
landing files (the contract's order: byte-wise by path). No engine is
imported here, so that each peer can configure its engine first."""

from __future__ import annotations

import fnmatch
import os

TABLES = [
    "bronze_customers",
    "bronze_addresses",
    "bronze_orders",
    "silver_customers_clean",
    "silver_addresses_clean",
    "silver_orders_clean",
    "silver_customers",
    "silver_addresses",
    "silver_orders",
    "gold_customer_orders",
]


def source_files(landing: str, folder: str, pattern: str) -> list[str]:
    """Regular files of the source folder whose name matches the pattern,
    absolute, sorted byte-wise."""
    root = os.path.abspath(os.path.join(landing, folder))
    if not os.path.isdir(root):
        return []
    paths = [
        os.path.join(root, name)
        for name in os.listdir(root)
        if fnmatch.fnmatchcase(name, pattern) and os.path.isfile(os.path.join(root, name))
    ]
    return sorted(paths, key=os.fsencode)
