#!/usr/bin/env python3
"""The reconciliation benchmark's comparison: the same day's classification as walletpay's
engine (`walletpay-reconcile`), written the usual way with pandas `merge`, on the same
generated files. Prints one JSON line: seconds, peak RSS in MB, and the count per class.

Usage: reconcile_pandas.py ROWS.csv LEDGER.csv FEE_BPS SETTLEMENT_DAYS

The classes, in the engine's order of precedence, for a day whose contract has one fee rule
(FEE_BPS of the gross, halves up) and a cycle of SETTLEMENT_DAYS calendar days with no
non-working day, and no grace period:
- a row without an entry: unknown_to_us; an entry without a row: missing_at_provider;
- a second listing of a payment, or a charge under another charge reference: duplicate;
- then currency_mismatch, amount_mismatch;
- row succeeded and ours waiting: healed; any other status difference: status_mismatch;
- fee other than the contract's: fee_mismatch; value date after the due date:
  settlement_late; else matched.
"""

import json
import resource
import sys
import time

import numpy as np
import pandas as pd


def main():
    rows_path, ledger_path, fee_bps, days = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    t0 = time.perf_counter()
    rows = pd.read_csv(
        rows_path,
        dtype={"payment_id": str, "charge_reference": str, "currency": str, "status": str, "kind": str},
        parse_dates=["booked_on", "value_on"],
    )
    ledger = pd.read_csv(
        ledger_path,
        dtype={"payment_id": str, "provider_reference": str, "currency": str, "status": str},
    )
    rows["occurrence"] = rows.groupby("payment_id").cumcount()
    m = rows.merge(ledger, on="payment_id", how="outer", suffixes=("_row", "_ours"), indicator=True)
    both = m["_merge"] == "both"
    expected_fee = (m["gross"] * fee_bps + 5000) // 10000
    due = m["booked_on"] + pd.to_timedelta(days, unit="D")
    conditions = [
        m["_merge"] == "left_only",
        m["_merge"] == "right_only",
        both & ((m["occurrence"] > 0) | (m["charge_reference"] != m["provider_reference_ours"])),
        both & (m["currency_row"] != m["currency_ours"]),
        both & (m["gross"] != m["amount"]),
        both & (m["status_row"] == "succeeded") & (m["status_ours"] == "waiting"),
        both & (m["status_row"] != m["status_ours"]),
        both & (m["fee"] != expected_fee),
        both & (m["value_on"] > due),
    ]
    names = [
        "unknown_to_us",
        "missing_at_provider",
        "duplicate",
        "currency_mismatch",
        "amount_mismatch",
        "healed",
        "status_mismatch",
        "fee_mismatch",
        "settlement_late",
    ]
    m["class"] = np.select(conditions, names, default="matched")
    counts = {k: int(v) for k, v in m["class"].value_counts().sort_index().items()}
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_mb, "counts": counts}))


if __name__ == "__main__":
    main()
