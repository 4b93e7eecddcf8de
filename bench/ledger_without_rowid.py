"""Would the ledger's receipts table be cheaper to append to as a WITHOUT ROWID table keyed by
the entry id (one b-tree fewer per entry)? Compares the current schema (version 3's receipts
table and its four indexes, src/ledger/sqlite/schema.rs) with the same table WITHOUT ROWID, on
the settings the gateway uses (WAL, synchronous = NORMAL, 4 KiB pages): commits of one entry
(paced shares) and of twelve (a closed-loop batch), after PREFILL entries, reporting WAL bytes
written per entry (what each commit copies, and checkpoints copy again), time per entry and
the file's size. Uses Python's own sqlite3 module, so the SQLite version is the system's, not
the one the gateway bundles; the counts of pages are what matter here.

    python3 bench/ledger_without_rowid.py            # 20 000 and 200 000 entries first
    PREFILL=50000 ENTRIES=3000 python3 bench/ledger_without_rowid.py
"""

import os
import random
import sqlite3
import string
import tempfile
import time

TABLE = """CREATE TABLE receipts (
    id TEXT NOT NULL PRIMARY KEY, frontend TEXT NOT NULL, caller TEXT NOT NULL,
    metadata_key TEXT NOT NULL, secret_key TEXT, created INTEGER NOT NULL,
    secret_expires INTEGER NOT NULL, receipt_expires INTEGER NOT NULL, state TEXT NOT NULL,
    state_updated INTEGER NOT NULL, has_passphrase INTEGER NOT NULL,
    metadata_key_hash INTEGER NOT NULL
) STRICT{options};
CREATE INDEX receipts_by_owner ON receipts (frontend, caller, created);
CREATE INDEX receipts_by_expiry ON receipts (receipt_expires);
CREATE INDEX receipts_by_observation ON receipts (frontend, state, state_updated);
CREATE INDEX receipts_by_key_hash ON receipts (metadata_key_hash);"""
INSERT = "INSERT INTO receipts VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
KEY_ALPHABET = string.ascii_lowercase + string.digits


def entry(millis):
    # As the gateway makes them: time-ordered ids, random 62-character receipt keys.
    entry_id = "%032x" % ((millis << 80) | random.getrandbits(80))
    key = "".join(random.choices(KEY_ALPHABET, k=62))
    seconds = millis // 1000
    week = 7 * 86400
    return (entry_id, "rest", "team", key, key[:40], seconds, seconds + week, seconds + week,
            "new", seconds, 0, random.getrandbits(63))


def measure(directory, schema, prefill, entries, batch):
    path = os.path.join(directory, f"{schema}-{prefill}-{batch}.sqlite3")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA page_size = 4096")
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.executescript(TABLE.format(options=", WITHOUT ROWID" if schema == "without rowid" else ""))
    start_millis = int(time.time() * 1000)
    db.execute("BEGIN")
    for n in range(prefill):
        db.execute(INSERT, entry(start_millis + n))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    began = time.perf_counter()
    for first in range(0, entries, batch):
        db.execute("BEGIN")
        for n in range(first, first + batch):
            db.execute(INSERT, entry(start_millis + prefill + n))
        db.execute("COMMIT")
    took = time.perf_counter() - began
    wal = os.path.getsize(path + "-wal")
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.close()
    return took / entries * 1e6, wal / entries / 1024, pages


def main():
    prefills = [int(os.environ["PREFILL"])] if "PREFILL" in os.environ else [20000, 200000]
    entries = int(os.environ.get("ENTRIES", "6000"))
    print(f"SQLite {sqlite3.sqlite_version}, {entries} entries measured")
    print("| entries before | per commit | schema | µs/entry | WAL KiB/entry | file pages |")
    print("| ---: | ---: | --- | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as directory:
        for prefill in prefills:
            for batch in (1, 12):
                for schema in ("rowid", "without rowid"):
                    micros, wal, pages = measure(directory, schema, prefill, entries, batch)
                    print(f"| {prefill} | {batch} | {schema} | {micros:.1f} | {wal:.1f} | {pages} |")


if __name__ == "__main__":
    main()
