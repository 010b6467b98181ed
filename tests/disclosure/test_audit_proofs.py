"""The release audit tries the last release's proofs first (`AuditProofs`, the hints of
`proven_intervals`): a proof is a whole-number table the attacker cannot rule out, and one that
still holds spares the programmes that found it. Every hint is checked against the system of the
audit at hand, so a wrong, stale or forged one proves nothing: the memo can cost time, never a
verdict."""

from __future__ import annotations

import shutil
import stat
from collections import Counter
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.disclosure.audit import proven_intervals, shortfall
from orchestration.disclosure.linked import COMPLETE, LinkedTable, Relation
from orchestration.disclosure.pattern import PROOF_TABLES_TABLE, PROOFS_TABLE, DuckDBMemo, drop_pattern_proofs
from orchestration.disclosure.secondary import protect
from orchestration.release import list_releases
from orchestration.release.disclosure_audit import AuditProofs, audit_release, proofs_path, read_pattern_proofs
from tests.disclosure.test_proven_intervals import WIDTH, compare, random_table
from tests.disclosure.test_regions import small_kreis


def _audit(table, withheld: set[int], primary: set[int], hints=(), proofs=None):
    values = table.cell_values()
    known = {i: float(values[i]) for i in range(len(table.cells)) if i not in withheld}
    counts: Counter = Counter()
    found = proven_intervals(
        table, known, sorted(withheld), primary, WIDTH, COMPLETE, counts=counts, hints=hints, proofs=proofs
    )
    return found, counts


def _protected(table: LinkedTable, level: str):
    """The table, its primary cells (counts of 1 or 2 at `level`, the smallest) and the protector's
    pattern; None when nothing is small."""
    values, counts = table.cell_values(), table.count_cells()
    small = {
        i
        for i in range(len(table.cells))
        if 1 <= values[i] < 3 and counts[i] and table.cells[i][1].startswith(f"{level}:")
    }
    if not small:
        return None
    return table, small, protect(table, small, width=WIDTH).suppressed


def _city(seed: int):
    return _protected(random_table(np.random.default_rng(seed)), "viertel")


def _kreis(seed: int):
    """A random Kreis of Gemeinden: its programmes run within a Gemeinde first."""
    return _protected(small_kreis(seed, gemeinden=2 + seed % 3), "stadtviertel")


@pytest.mark.parametrize("kreis", [False, True], ids=["city", "kreis"])
@pytest.mark.parametrize("seed", range(20))
def test_the_proofs_of_an_audit_prove_the_same_cells_again_without_programmes(seed, kreis):
    case = _kreis(seed) if kreis else _city(seed)
    if case is None:
        pytest.skip("no small cell in this table")
    table, small, withheld = case
    proofs: list = []
    first, counts = _audit(table, withheld, small, proofs=proofs)
    assert all(shortfall(iv, iv.cell in small, WIDTH, COMPLETE) is None for iv in first)
    proven = [iv for iv in first if not iv.exact]
    if not proven:
        assert proofs == [] and counts["linear"] == 0
        return
    assert proofs and all(len(v) == len(c) and len(v) for v, c in proofs)
    # each proof is a table the attacker cannot rule out: it moves variables of the table only
    assert all(v.min() >= 0 and v.max() < table.n_vars for v, _ in proofs)
    again_proofs: list = []
    again, again_counts = _audit(table, withheld, small, hints=proofs, proofs=again_proofs)
    # every proof still holds and moves the bounds as far as before: nothing is left to solve but
    # the cells the attacker cannot bound at all (a direction, not a table: searched again)
    assert again_counts["hints"] == len(proofs) and again_counts["hints_taken"] == len(proofs)
    assert not any(iv.exact for iv in first)  # (the protector's pattern: every cell proven)
    unbounded = sum(1 for iv in first if np.isinf(iv.low) or np.isinf(iv.high))
    assert again_counts["linear"] <= 2 * unbounded and again_counts["integer"] == 0
    assert counts["linear"] > again_counts["linear"]
    # in a Kreis a table that moves one Gemeinde is checked over that Gemeinde's rows again
    assert (again_counts["hints_within_gemeinde"] > 0) == kreis
    assert [(iv.cell, iv.low, iv.high, iv.exact) for iv in again] == [
        (iv.cell, iv.low, iv.high, iv.exact) for iv in first
    ]
    # and they are noted again for the next audit
    assert len(again_proofs) == len(proofs)
    assert all(
        np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(again_proofs, proofs, strict=True)
    )


@pytest.mark.parametrize("kreis", [False, True], ids=["city", "kreis"])
@pytest.mark.parametrize("seed", range(4))
def test_the_patterns_own_proofs_prove_its_withheld_cells_without_programmes(seed, kreis):
    """The incremental method keeps the whole-number tables it certified and verified its pattern
    with (`Pattern.proofs`, the form of the audit's hints): given to the audit, they prove every
    withheld cell the attacker can bound, and the intervals hold the width as without them."""
    case = _kreis(seed) if kreis else _city(seed)
    if case is None:
        pytest.skip("no small cell in this table")
    table, small, withheld = case
    pattern = protect(table, small, width=WIDTH)
    assert pattern.suppressed == withheld and pattern.proofs
    assert all(len(v) == len(c) > 0 and v.min() >= 0 and v.max() < table.n_vars for v, c in pattern.proofs)
    assert all(np.array_equal(c, np.round(c)) for _v, c in pattern.proofs)  # whole numbers
    without, plain = _audit(table, withheld, small)
    taken, hinted = _audit(table, withheld, small, hints=pattern.proofs)
    assert all(shortfall(iv, iv.cell in small, WIDTH, COMPLETE) is None for iv in taken)
    unbounded = sum(1 for iv in without if np.isinf(iv.low) or np.isinf(iv.high))
    assert hinted["hints_taken"] > 0 and hinted["linear"] <= 2 * unbounded and hinted["integer"] == 0
    assert hinted["linear"] <= plain["linear"]
    assert [iv.cell for iv in taken] == [iv.cell for iv in without]


def test_the_warehouse_keeps_a_tables_latest_proofs_and_reads_them_apart():
    """`DuckDBMemo.keep_proofs` replaces what an earlier build kept for the same linked table; a
    pattern from the memo keeps them only where they prove the same withheld cells; the reader splits
    the rows by table and proof, also where two tables each have one proof numbered 0."""
    con = duckdb.connect()
    memo = DuckDBMemo(con)
    a = ("2024-12-31 residents", "layout-a")
    b = ("2024-12-31 sgb2", "layout-b")
    one = (np.array([3, 1]), np.array([2.0, -1.0]))
    memo.keep_proofs(a, [one, (np.array([0]), np.array([5.0]))], "withheld-a")
    memo.flush()
    assert len(read_pattern_proofs(con)[0][a]) == 2
    memo.keep_proofs(a, [one], "withheld-a")  # the table solved again: its proofs replaced, not added
    memo.keep_proofs(b, [(np.array([7]), np.array([-3.0]))], "withheld-b")
    memo.flush()
    assert not con.execute("select * from duckdb_views() where view_name like '%proofs_held%'").fetchall()
    proofs, unreadable = read_pattern_proofs(con)
    assert unreadable is None and sorted(proofs) == [a, b]
    assert [(v.tolist(), c.tolist()) for v, c in proofs[a]] == [([1, 3], [-1.0, 2.0])]
    assert [(v.tolist(), c.tolist()) for v, c in proofs[b]] == [([7], [-3.0])]
    assert sorted(read_pattern_proofs(con, date(2024, 12, 30))[0]) == []  # up to a Stichtag
    # a pattern from the memo: the same withheld cells keep their proofs, others lose them
    memo.keep_proofs(a, [], "withheld-a", from_memo=True)
    memo.keep_proofs(b, [], "withheld-b-now", from_memo=True)
    memo.flush()
    assert sorted(read_pattern_proofs(con)[0]) == [a]
    memo.keep_proofs(b, [(np.array([7]), np.array([-3.0]))], "withheld-b")
    memo.flush()
    assert sorted(read_pattern_proofs(con)[0]) == [a, b]
    memo.keep_proofs(b, [], "withheld-b")  # solved again, nothing to keep: its earlier proofs go
    memo.flush()
    assert sorted(read_pattern_proofs(con)[0]) == [a]
    memo.keep_proofs(b, [(np.array([7]), np.array([-3.0]))], "withheld-b")
    memo.keep_proofs_of({a[0]})  # b no longer solved (a Stichtag taken out): its proofs go
    assert sorted(read_pattern_proofs(con)[0]) == [a]
    memo.keep_proofs_of(set())
    assert read_pattern_proofs(con) == ({}, None)
    memo.keep_proofs(a, [one], "withheld-a")
    memo.flush()
    con.execute(f"update {PROOFS_TABLE} set variable = null")
    assert read_pattern_proofs(con)[0] == {} and "empty fields" in read_pattern_proofs(con)[1]
    # the rows come by table number, the names once: a table without its layout is no proof's table
    memo.keep_proofs(a, [one], "withheld-a")
    memo.keep_proofs(b, [(np.array([7]), np.array([-3.0]))], "withheld-b")
    memo.flush()
    con.execute(f"update {PROOF_TABLES_TABLE} set layout = null where linked_table = ?", [b[0]])
    assert read_pattern_proofs(con)[0] == {} and "empty fields" in read_pattern_proofs(con)[1]
    con.execute(f"update {PROOF_TABLES_TABLE} set layout = ?, number = 0", [b[1]])
    assert read_pattern_proofs(con)[0] == {} and "alike" in read_pattern_proofs(con)[1]
    assert read_pattern_proofs(duckdb.connect()) == ({}, None)  # an earlier version's warehouse
    drop_pattern_proofs(con)  # a build without the memo, or with the Cell Key Method: none kept
    assert read_pattern_proofs(con) == ({}, None)


def test_proof_rows_left_without_their_table_are_never_read_as_another_tables():
    """A run killed between writing a table's proof rows and its name leaves rows of no table: a
    later build numbers its tables past them, no reader takes them, and the build's end removes them.
    The proofs are held until so many rows wait (`FLUSH_ROWS`). Proofs of an earlier version (the
    names on every row, one table) are dropped and kept anew."""
    con = duckdb.connect()
    a = ("2024-12-31 residents", "layout-a")
    b = ("2024-12-31 sgb2", "layout-b")
    c = ("2023-12-31 residents", "layout-c")
    memo = DuckDBMemo(con)
    memo.FLUSH_ROWS = 2
    memo.keep_proofs(a, [(np.array([1]), np.array([1.0]))], "withheld-a")
    assert read_pattern_proofs(con) == ({}, None)  # held
    memo.keep_proofs(b, [(np.array([2]), np.array([1.0]))], "withheld-b")  # two rows held: written
    assert sorted(read_pattern_proofs(con)[0]) == [a, b]
    memo.keep_proofs(b, [(np.array([5]), np.array([1.0]))], "withheld-b")  # solved again in one build
    memo.keep_proofs(c, [(np.array([3]), np.array([2.0])), (np.array([4]), np.array([1.0]))], "withheld-c")
    assert {key: [(v.tolist(), c.tolist()) for v, c in kept] for key, kept in read_pattern_proofs(con)[0].items()} == {
        a: [([1], [1.0])],
        b: [([5], [1.0])],
        c: [([3], [2.0]), ([4], [1.0])],
    }
    memo.FLUSH_ROWS, memo.FLUSH_SECONDS = 100, 0.0  # and whenever so long has passed
    memo.keep_proofs(c, [(np.array([6]), np.array([1.0]))], "withheld-c")
    assert [(v.tolist(), c.tolist()) for v, c in read_pattern_proofs(con)[0][c]] == [([6], [1.0])]
    memo.keep_proofs_of({a[0]})
    (number,) = con.execute(f"select number from {PROOF_TABLES_TABLE}").fetchone()
    con.execute(f"insert into {PROOFS_TABLE} values (?, 0, 9, 4.0)", [number + 1])  # of a table never named
    memo = DuckDBMemo(con)  # the next build
    memo.keep_proofs(b, [(np.array([7]), np.array([-3.0]))], "withheld-b")
    memo.flush()
    proofs, unreadable = read_pattern_proofs(con)
    assert unreadable is None
    assert {key: [(v.tolist(), c.tolist()) for v, c in kept] for key, kept in proofs.items()} == {
        a: [([1], [1.0])],
        b: [([7], [-3.0])],
    }
    memo.keep_proofs_of({a[0], b[0]})
    assert con.execute(f"select count(*) from {PROOFS_TABLE}").fetchone() == (2,)

    con = duckdb.connect()
    con.execute(
        f"create schema ops; create table {PROOFS_TABLE} (linked_table varchar, layout varchar, withheld varchar,"
        " proof bigint, variable bigint, change double)"
    )
    con.execute(f"insert into {PROOFS_TABLE} values (?, ?, 'w', 0, 1, 1.0)", list(a))
    assert read_pattern_proofs(con) == ({}, None)  # no table of the tables: nothing to read
    memo = DuckDBMemo(con)
    memo.keep_proofs(b, [(np.array([7]), np.array([-3.0]))], "withheld-b")
    memo.flush()
    assert sorted(read_pattern_proofs(con)[0]) == [b]


def test_proofs_that_cannot_be_kept_cost_the_audit_time_not_the_build(caplog):
    """A proofs table of another shape is made anew; any error writing the proofs is one warning,
    not a failed pattern: the audit then searches as it would without them."""
    con = duckdb.connect()
    con.execute(f"create schema ops; create table {PROOFS_TABLE} (something_else integer)")
    memo = DuckDBMemo(con)
    key = ("2024-12-31 residents", "layout")
    memo.keep_proofs(key, [(np.array([1]), np.array([1.0]))], "withheld")
    memo.flush()
    assert [k for k in read_pattern_proofs(con)[0]] == [key]

    class Broken:  # a session that fails on every statement
        def __getattr__(self, _name):
            def fail(*_args, **_kwargs):
                raise RuntimeError("disk full")

            return fail

    with caplog.at_level("WARNING"):
        memo.keep_proofs(key, [(np.array(1), np.array(1.0))], "withheld")  # no proof's shape: not kept
    assert caplog.text.count("proofs could not be kept") == 1
    caplog.clear()
    memo._proofs_failed = False
    memo.con = Broken()
    with caplog.at_level("WARNING"):
        memo.keep_proofs(key, [(np.array([1]), np.array([1.0]))], "withheld")
        memo.keep_proofs_of({key[0]})
    assert caplog.text.count("proofs could not be kept") == 1 and "disk full" in caplog.text


def _first_proven_case():
    for seed in range(200):
        case = _city(seed)
        if case is None:
            continue
        table, small, withheld = case
        proofs: list = []
        found, _ = _audit(table, withheld, small, proofs=proofs)
        if proofs:
            return table, small, withheld, proofs, found
    raise AssertionError("no random table with a proof")


def test_hints_that_do_not_hold_prove_nothing_and_change_nothing():
    table, small, withheld, proofs, found = _first_proven_case()
    variables, change = proofs[0]
    n = table.n_vars
    broken = [
        (variables, change + 1),  # a table that breaks a published sum or a bound
        (variables, change + 0.5),  # not whole numbers
        (np.array([n]), np.array([1.0])),  # a variable the table does not have
        (np.array([-1]), np.array([1.0])),
        (np.r_[variables, variables[:1]], np.r_[change, change[:1]]),  # a variable twice
        (variables, change[:-1] if len(change) > 1 else np.array([])),  # lengths that differ
        (np.array([[0]]), np.array([[1.0]])),  # not a list of variables
        (variables, np.full(len(change), np.nan)),  # not a number
        (variables, np.full(len(change), np.inf)),
        (variables, change * 2.0**60),  # beyond what floating point adds up exactly
        (np.array(["a"]), np.array(["b"])),  # not numbers at all
    ]
    plain, plain_counts = _audit(table, withheld, small)
    hinted, counts = _audit(table, withheld, small, hints=broken)
    assert counts["hints"] == len(broken) and counts["hints_taken"] == 0
    # no hint was taken: the same programmes ran and found the same intervals
    assert [(iv.cell, iv.low, iv.high, iv.exact) for iv in hinted] == [
        (iv.cell, iv.low, iv.high, iv.exact) for iv in plain
    ]
    assert counts["linear"] == plain_counts["linear"] and counts["integer"] == plain_counts["integer"]


def test_no_hint_can_pass_a_cell_that_an_attacker_pins():
    """A withheld Stadtviertel under a published Stadtteil is pinned by a subtraction. Hints that
    move it as far as one likes, alone or with the Stadtteil's other atoms, break what is published:
    the cell still fails, with its exact interval."""
    for seed in range(100):  # the first table that has one
        table = random_table(np.random.default_rng(seed))
        cell = table.cell_index[("f", "viertel:0")]
        if table.cell_values()[cell] >= 1:
            break
    else:
        raise AssertionError("no random table with a positive Stadtviertel")
    atom = table.var("f", 0)
    other = table.var("f", 1)
    forged = [
        (np.array([atom]), np.array([10.0])),
        (np.array([atom]), np.array([-float(table.cell_values()[cell])])),
        (np.array([atom, other]), np.array([5.0, -5.0])),  # the Stadtteil's sum kept, the Sozialraum's not
        (np.arange(table.n_vars), np.full(table.n_vars, 7.0)),
    ]
    (iv,), counts = _audit(table, {cell}, {cell}, hints=forged)
    assert counts["hints_taken"] == 0
    assert iv.exact and shortfall(iv, True, WIDTH, COMPLETE) is not None
    failing, _ = compare(table, {cell}, {cell})
    assert failing == 1


def test_a_hint_that_is_no_number_or_too_large_proves_nothing_where_only_inequalities_bind():
    """a <= b in every atom, b published as 1 in each, a withheld: a is pinned to 1 (at least 1 as
    a withheld count, at most b). A NaN in a satisfies every inequality as floating point compares
    it (each comparison is false), and a huge change makes sums inexact: neither may pass the cell.
    The same with a balance (no lower bound), where a sum beyond 2**53 would round to what is published."""
    table = LinkedTable(
        ["a", "b"], ["x0", "x1"], np.array([[1, 1], [1, 1]]),
        [("a", "viertel:0"), ("b", "viertel:0"), ("b", "viertel:1")], [np.array([0]), np.array([0]), np.array([1])],
        [Relation({"a": 1, "b": -1}, "<=", "part")],
    )  # fmt: skip
    values = table.cell_values()
    known = {i: float(values[i]) for i in (1, 2)}
    a0 = table.var("a", 0)
    for hint in [(np.array([a0]), np.array([np.nan])), (np.array([a0]), np.array([-(2.0**60)]))]:
        counts: Counter = Counter()
        (iv,) = proven_intervals(table, known, [0], {0}, WIDTH, COMPLETE, counts=counts, hints=[hint])
        assert counts["hints_taken"] == 0
        assert iv.exact and (iv.low, iv.high) == (1, 1) and shortfall(iv, True, WIDTH, COMPLETE)

    balance = LinkedTable(
        ["s"], ["x0", "x1", "x2"], np.array([[256, 0, 0]]),
        [("s", "a"), ("s", "b"), ("s", "c")], [np.array([0]), np.array([1, 2]), np.array([0, 1, 2])],
        lower_bounds=np.array([-np.inf]),
    )  # fmt: skip
    known = {1: 0.0, 2: 256.0}
    huge = (np.array([0, 1, 2]), np.array([44.0, 2.0**60, -(2.0**60)]))
    counts = Counter()
    (iv,) = proven_intervals(balance, known, [0], {0}, WIDTH, COMPLETE, counts=counts, hints=[huge])
    assert counts["hints_taken"] == 0 and (iv.low, iv.high) == (256, 256)

    # the withheld cell's own sum counts too: sixteen balances, published in pairs (i, i + 8) that
    # add up to 0, so their withheld total is pinned at 0. A hint of ±v in each pair holds exactly,
    # but summed in column order the total passes 2**53 and rounds to what it is not
    pairs = LinkedTable(
        ["s"], [f"x{i}" for i in range(16)], np.zeros((1, 16)),
        [("s", "total"), *[("s", f"pair:{i}") for i in range(8)]],
        [np.arange(16), *[np.array([i, i + 8]) for i in range(8)]],
        lower_bounds=np.array([-np.inf]),
    )  # fmt: skip
    v = np.array([2.0**52 - 1, 3, 2.0**52 - 1, 5, 2.0**52 - 1, 7, 1, 1])
    forged = np.r_[v, -v]
    cells = pairs.cell_matrix()
    assert not np.any(cells[1:] @ forged) and (cells[[0]] @ forged)[0] == -4  # in floating point: not 0
    counts = Counter()
    known = {i: 0.0 for i in range(1, 9)}
    (iv,) = proven_intervals(
        pairs, known, [0], {0}, WIDTH, COMPLETE, counts=counts, hints=[(np.arange(16), np.r_[v, -v])]
    )
    assert counts["hints_taken"] == 0 and iv.exact and (iv.low, iv.high) == (0, 0)


def test_the_memo_keeps_proofs_whole_and_a_damaged_file_is_no_memo(tmp_path):
    table, small, withheld, proofs, _ = _first_proven_case()
    path = tmp_path / "w" / "sozialmonitor.audit_proofs.parquet"
    memo = AuditProofs(path)
    assert memo.hints(("x", "y")) == [] and memo.unreadable is None
    key = AuditProofs.name(table, "2024-12-31")
    other = ("2023-12-31 f,m,total", key[1])
    memo.hold(key, proofs)
    memo.hold(other, proofs[:1])
    memo.hold(("2022-12-31 none", "z"), [])  # nothing proven: nothing kept
    memo.keep()
    read = AuditProofs(path)
    assert len(read.hints(key)) == len(proofs) and len(read.hints(other)) == 1
    for (v, c), (v2, c2) in zip(read.hints(key), proofs, strict=True):
        assert np.array_equal(v, v2) and np.array_equal(c, c2)
    assert read.hints(("2022-12-31 none", "z")) == []
    # the same Stichtag and measures over other atoms: another layout, not used
    assert read.hints((key[0], "another layout")) == []
    assert list(path.parent.iterdir()) == [path]  # written aside, then renamed
    # true values: readable by the owner only, in a folder of the owner's, like the warehouse
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    # an audit of an older Stichtag (a correction) replaces what it looked at and keeps the rest
    older = AuditProofs(path)
    assert len(older.hints(other)) == 1
    older.hold(other, proofs[:2])
    older.keep()
    after = AuditProofs(path)
    assert len(after.hints(other)) == len(proofs[:2]) and len(after.hints(key)) == len(proofs)
    # a file a run left half written when it was killed goes with the next
    (path.parent / f".{path.name}.12345").write_bytes(b"half")
    AuditProofs(path).keep()
    assert list(path.parent.iterdir()) == [path]
    # a damaged file is no memo: the audit searches as without one
    path.write_bytes(b"PAR1 not really")
    damaged = AuditProofs(path)
    assert damaged.unreadable and damaged.hints(key) == []
    # and so is a Parquet file of another shape: text for numbers, lists, empty fields, a column missing
    good = {"linked_table": [key[0]], "layout": [key[1]], "proof": [0], "variable": [0], "change": [1.0]}
    for changed in (
        {"change": ["one"]},
        {"variable": ["x"]},
        {"change": [[1.0]]},
        {"variable": [None]},
        {"layout": [None]},
        {"linked_table": [None]},
        {"proof": None},
    ):
        columns = {name: values for name, values in {**good, **changed}.items() if values is not None}
        pq.write_table(pa.table(columns), path)
        wrong = AuditProofs(path)
        assert wrong.unreadable and wrong.hints(key) == [], changed
    # a file without rows holds no proofs, and is no damage
    schema = pa.schema([("linked_table", pa.string()), ("layout", pa.string()), ("proof", pa.int64()),
                        ("variable", pa.int64()), ("change", pa.float64())])  # fmt: skip
    pq.write_table(schema.empty_table(), path)
    empty = AuditProofs(path)
    assert empty.unreadable is None and empty.hints(key) == []
    # an audit that proved nothing, of every table there was, leaves no file
    AuditProofs(path).keep()
    assert not path.exists()


def _warehouse_copy(city, tmp_path):
    warehouse = tmp_path / "warehouse" / city.warehouse_path.name
    warehouse.parent.mkdir()
    shutil.copy2(city.warehouse_path, warehouse)
    return warehouse


def _audit_again(city, release, warehouse, memo: AuditProofs):
    return audit_release(
        release.path, warehouse, city.releases_dir, release.stichtag, protection_width=3.0,
        exclude_release=release.id, proofs=memo,
    )  # fmt: skip


def test_a_first_audit_takes_the_patterns_proofs_and_forged_ones_change_no_verdict(built_city, tmp_path):
    """The suppression pattern keeps the whole-number tables it was verified with in the warehouse
    (disclosure/pattern.py, PROOFS_TABLE); the release audit of a Stichtag no release audited yet
    checks them first, as it checks the last release's. The test city's release, audited again on a
    copy of the warehouse: with the pattern's proofs, without them, with them forged, unreadable."""
    (release,) = list_releases(built_city.releases_dir)
    warehouse = _warehouse_copy(built_city, tmp_path)
    con = duckdb.connect(str(warehouse))
    held = con.execute(
        f"select (select count(*) from {PROOF_TABLES_TABLE}), (select count(*) from {PROOFS_TABLE})"
    ).fetchone()
    con.close()
    assert held[0] > 0 and held[1] > 0
    # the city's own release: its audit took the pattern's proofs and needed no programme
    manifest = release.manifest()["disclosure_audit"]
    assert manifest["passed"] and manifest["linear_programmes"] == 0 and manifest["integer_programmes"] == 0

    memo = AuditProofs(tmp_path / "none.parquet")  # no release's proofs: the pattern's alone
    taken = _audit_again(built_city, release, warehouse, memo)
    assert taken.passed and taken.problems == [] and memo.pattern_unreadable is None
    assert taken.proofs_reused > 0 and taken.linear_programmes == 0

    def tampered(statement: str) -> tuple:
        copy = tmp_path / statement.split()[0]
        copy.mkdir()
        shutil.copy2(warehouse, copy / warehouse.name)
        con = duckdb.connect(str(copy / warehouse.name))
        con.execute(statement)
        con.close()
        memo = AuditProofs(tmp_path / "none.parquet")
        return _audit_again(built_city, release, copy / warehouse.name, memo), memo

    without, _memo = tampered(f"drop table {PROOFS_TABLE}")
    assert without.passed and without.proofs_tried == 0 and without.linear_programmes > 0
    assert len(without.cells) == len(taken.cells)
    # every table moved by one more at each variable it changes: none holds, all searched again
    forged, _memo = tampered(f"update {PROOFS_TABLE} set change = change + 1")
    assert forged.proofs_tried > 0 and forged.proofs_reused == 0
    assert forged.passed and forged.linear_programmes == without.linear_programmes
    assert [(c.measure, c.area_id, c.low, c.high) for c in forged.cells] == [
        (c.measure, c.area_id, c.low, c.high) for c in without.cells
    ]
    # a table of another shape is no memo: said, searched again, the same verdict
    unreadable, memo = tampered(
        f"alter table {PROOFS_TABLE} alter change type varchar; update {PROOFS_TABLE} set change = 'x'"
    )
    assert memo.pattern_unreadable and unreadable.proofs_tried == 0
    assert unreadable.passed and unreadable.linear_programmes == without.linear_programmes


def test_a_release_audit_reuses_the_last_releases_proofs_and_a_forged_memo_changes_no_verdict(built_city, tmp_path):
    """The test city's release audited again: first with no proofs kept (they are held and kept
    beside a copy of the warehouse), then with them (no programme where a proof still holds), then
    with every proof forged (none taken: the same programmes and intervals as without a memo)."""
    (release,) = list_releases(built_city.releases_dir)
    warehouse = _warehouse_copy(built_city, tmp_path)
    con = duckdb.connect(str(warehouse))
    con.execute(f"drop table {PROOFS_TABLE}")  # the suppression pattern's proofs: the test below
    con.close()

    def audit(memo: AuditProofs):
        return _audit_again(built_city, release, warehouse, memo)

    memo = AuditProofs(proofs_path(warehouse))
    first = audit(memo)
    assert first.passed and first.proofs_tried == 0 and first.linear_programmes > 0
    memo.keep()
    assert proofs_path(warehouse).is_file() and proofs_path(warehouse).parent == warehouse.parent

    again = audit(AuditProofs(proofs_path(warehouse)))
    assert again.passed and again.problems == []
    assert again.proofs_reused == again.proofs_tried > 0
    assert again.linear_programmes < first.linear_programmes / 4
    assert len(again.cells) == len(first.cells)
    # internal figures: whether a proof still holds depends on true values of withheld cells
    assert again.figures()["proofs_reused"] == again.proofs_reused
    assert "proofs_reused" not in again.public_figures() and "proofs_tried" not in again.public_figures()

    # every proof forged by one more at each variable it moves: none holds, all are searched again
    held = AuditProofs(proofs_path(warehouse))
    forged = AuditProofs(tmp_path / "forged.parquet")
    for key, proofs in held._known.items():
        forged.hold(key, [(v, c + 1) for v, c in proofs])
    forged.keep()
    tampered = audit(AuditProofs(tmp_path / "forged.parquet"))
    assert tampered.proofs_tried > 0 and tampered.proofs_reused == 0
    assert tampered.passed and tampered.linear_programmes == first.linear_programmes
    assert [(c.measure, c.area_id, c.low, c.high) for c in tampered.cells] == [
        (c.measure, c.area_id, c.low, c.high) for c in first.cells
    ]


def test_the_proofs_names_are_written_as_pyarrow_would_encode_them_repeated():
    """AuditProofs.keep builds the dictionary columns from indices, not from the repeated names (the
    fixed-width NumPy copy took gigabytes at 300 Gemeinden): the same array as encoding the
    repeated names, so the file's bytes do not change."""
    import numpy as np
    import pyarrow as pa

    from orchestration.disclosure.pattern import _repeated

    values, lengths = ["2024-12-31 b,c", "2024-12-31 b,c", "2023-12-31 a", "2024-12-31 b,c"], [2, 0, 3, 1]
    expected = pa.array(np.repeat(values, lengths).tolist(), pa.string()).dictionary_encode()
    got = _repeated(values, lengths)
    assert got.equals(expected) and got.type == expected.type
    assert _repeated([], []).equals(pa.array([], pa.string()).dictionary_encode())
