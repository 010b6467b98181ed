"""Partitions. They are dynamic: the raw/ sensor adds a Stichtag when the first extract for a new
reporting date arrives, and a Gemeinde when the first file a Stadt delivers for itself arrives, so
a new year or a new Stadt needs no code change or redeploy.

- `STICHTAG_PARTITIONS`: the sources delivered once for the whole area, the release, and the
  jobs that build a Stichtag (`warehouse_job`, `publish_job`).
- `DELIVERY_PARTITIONS`: Stichtag × Gemeinde, for the sources each Stadt of a Kreis delivers for
  itself (a contract's `delivered_per: gemeinde`): a late delivery of one Stadt is one partition,
  loaded on its own (`delivery_job`), and then its Stichtag is built for the whole Kreis
  (definitions.py, sensors.py). A single city has no such source and so none of these partitions.
"""

from __future__ import annotations

import dagster as dg

STICHTAG_PARTITIONS = dg.DynamicPartitionsDefinition(name="stichtag")
GEMEINDE_PARTITIONS = dg.DynamicPartitionsDefinition(name="gemeinde")
STICHTAG, GEMEINDE = "stichtag", "gemeinde"
DELIVERY_PARTITIONS = dg.MultiPartitionsDefinition({STICHTAG: STICHTAG_PARTITIONS, GEMEINDE: GEMEINDE_PARTITIONS})


def is_delivery(contract) -> bool:
    """Whether a source (an ingest Contract) is one each Stadt delivers for itself with a Stichtag:
    partitioned by Stichtag × Gemeinde and loaded by `delivery_job`. A Stadt's addresses are
    reference data, not such a source."""
    return contract.period == "stichtag" and contract.delivered_per == "gemeinde"


def delivery_key(stichtag: str, gemeinde: str) -> dg.MultiPartitionKey:
    """The partition of one Stadt's delivery for one Stichtag."""
    return dg.MultiPartitionKey({STICHTAG: stichtag, GEMEINDE: gemeinde})


def partition_parts(context) -> tuple[str | None, str | None]:
    """(Stichtag, Gemeinde) of the run's partition (an op or asset context): a Stichtag partition
    has no Gemeinde; an unpartitioned run has neither."""
    if not context.has_partition_key:
        return None, None
    key = context.partition_key
    if isinstance(key, dg.MultiPartitionKey):
        parts = key.keys_by_dimension
        return parts[STICHTAG], parts[GEMEINDE]
    return key, None
