"""ChdbOlap: the Olap port on chDB, ClickHouse's engine running inside this process.

Embedded mode's DPR index. One process owns a data dir (chDB locks ``<dir>/status``), and a
process can have only one chDB data dir open at a time (a second, different dir is refused
until every session on the first is closed). Within the owning process this adapter keeps
two sessions on the dir: a writer (commands and inserts, serialised by a lock, because an
insert blocks its session) and a reader (queries; chDB sessions are thread-safe),
so readers are never blocked behind a bulk insert.

Row inserts encode ``JSONCompactEachRow`` lines with orjson (see bench/PERF-CEILINGS
section 4: the fastest row encoding from Python). Column inserts (``insert_columns``) build one
Arrow record batch, typed from the table's own column types, and send it as ``ArrowStream``: no
per-row encoding in Python, and chDB reads columns instead of parsing JSON (bench/RESULTS.md,
"Audit index"). A column whose type has no exact Arrow twin here (floats, dates, arrays,
nullables, ...) sends the batch down the row path.

Either way the encoded batch is spooled to a private temporary file and stored by one
``INSERT ... FROM INFILE`` query. Not ``Session.send_insert``: chDB 4.4's streaming insert
swallows an error the server raises while committing (a CHECK constraint violation, too many
partitions per insert block): ``finish()`` returns ``rows_written`` as if all went well and
stores nothing, so a caller would record as durable rows that never landed. A query reports
the server's exception, and the INFILE path costs about the same as streaming (a 300,000-row
JSON batch: 0.085 s against 0.070 s, on a busy machine).
"""

from __future__ import annotations

import fcntl
import math
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import orjson

from faramesh_cloud.olap.columns import column_rows
from faramesh_cloud.olap.decode import row_converter
from faramesh_cloud.olap.params import bind
from faramesh_cloud.olap.port import OlapError, OlapUnavailable, Params, QueryResult
from faramesh_cloud.olap.types import TypeNode, parse_type


class _Result(Protocol):
    def bytes(self) -> bytes: ...


class _Session(Protocol):
    """The part of ``chdb.session.Session`` this adapter uses (chdb ships no type hints)."""

    def query(
        self, sql: str, fmt: str = ..., udf_path: str = ..., params: dict[str, str] | None = ...
    ) -> _Result: ...

    def close(self) -> None: ...


_READER_SETTINGS = (
    "output_format_json_quote_64bit_integers = 1",
    "output_format_json_quote_decimals = 1",
    "output_format_json_quote_denormals = 1",
    "output_format_json_validate_utf8 = 1",
)
_INSERT_SETTINGS = (
    "SETTINGS async_insert = 0, date_time_input_format = 'best_effort', "
    "input_format_null_as_default = 0, "  # None into a non-Nullable column is an error, not 0
    # Tables partitioned per organisation (the audit index) take batches spanning hundreds of
    # partitions; over the default limit (100) the whole insert would be refused.
    "max_partitions_per_insert_block = 0"
)
_FLOATS = frozenset({"Float32", "Float64", "BFloat16"})


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quote_table(table: str) -> str:
    """``db.table`` or ``table``, each part quoted."""
    return ".".join(quote_identifier(part) for part in table.split("."))


class ChdbOlap:
    """The Olap port on an in-process chDB data dir (persistent)."""

    def __init__(self, data_dir: str | Path, *, insert_chunk_rows: int = 10_000) -> None:
        self._dir = Path(data_dir).resolve()
        self._dir.mkdir(parents=True, exist_ok=True)
        self._chunk = insert_chunk_rows
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._float_columns: dict[tuple[str, tuple[str, ...]], list[int]] = {}
        self._arrow_types: dict[tuple[str, tuple[str, ...]], list[Any] | None] = {}
        self._writer = _open_session(self._dir)
        try:
            self._reader = _open_session(self._dir)
            for setting in _READER_SETTINGS:
                self._reader.query(f"SET {setting}", "CSV")
            self._default_tz = _server_timezone(self._reader)
        except BaseException:
            self._writer.close()
            raise
        self._closed = False

    @property
    def data_dir(self) -> Path:
        return self._dir

    def command(self, sql: str, params: Params | None = None) -> None:
        with self._write_lock:
            self._float_columns.clear()  # DDL may have changed column types
            self._arrow_types.clear()
            _run(self._live(self._writer), sql, "CSV", params)

    def query(self, sql: str, params: Params | None = None) -> QueryResult:
        # A chDB session binds query parameters per session: two parameterised queries at
        # once on one session see each other's substitutions ("Substitution `org` is not
        # set"), so reads on the reader session are serialised.
        with self._read_lock:
            raw = _run(self._live(self._reader), sql, "JSONCompact", params)
        if not raw.strip():
            return QueryResult((), [])
        doc = orjson.loads(raw)
        meta = doc["meta"]
        convert = row_converter([m["type"] for m in meta], self._default_tz)
        return QueryResult(tuple(m["name"] for m in meta), [convert(r) for r in doc["data"]])

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        names = tuple(columns)
        with self._write_lock:
            encode = _row_encoder(self._floats_of(table, names))
            self._send(table, names, "JSONCompactEachRow", _json_chunks(rows, encode, self._chunk))

    def insert_columns(self, table: str, columns: Sequence[str], data: Sequence[Sequence[Any]]) -> None:
        names = tuple(columns)
        if column_rows(table, names, data) == 0:
            return
        with self._write_lock:
            types = self._arrow_types_of(table, names)
        if types is None:
            self.insert(table, names, zip(*data, strict=True))
            return
        import pyarrow as pa  # type: ignore[import-untyped]

        try:
            batch = pa.record_batch([pa.array(values, type=t) for values, t in zip(data, types, strict=True)],
                                    names=list(names))
        except (pa.ArrowException, OverflowError, TypeError, ValueError) as exc:
            raise OlapError(f"cannot insert into {table}: {exc}") from None
        for name, array in zip(names, batch.columns, strict=True):
            if array.null_count:  # Arrow would let ClickHouse store the column default
                raise OlapError(f"cannot insert into {table}: column {name!r} holds None and is not Nullable")
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as stream:
            stream.write_batch(batch)
        with self._write_lock:
            self._send(table, names, "ArrowStream", [sink.getvalue().to_pybytes()])

    def _send(self, table: str, names: tuple[str, ...], fmt: str, parts: Iterable[bytes]) -> None:
        """Store ``parts`` (in ``fmt``) in ``table`` as one insert, or raise ``OlapError``
        naming the table and the server's reason; on failure nothing is stored. The parts
        go to a private temporary file first (see the module docstring for why not a
        streaming insert). Call with the write lock held."""
        session = self._live(self._writer)
        with tempfile.NamedTemporaryFile(prefix="faramesh-olap-insert-") as spool:
            try:
                for part in parts:
                    spool.write(part)
            except TypeError as exc:  # orjson.JSONEncodeError: a value JSON cannot carry
                raise OlapError(f"cannot insert into {table}: {exc}") from None
            spool.flush()
            statement = (
                f"INSERT INTO {quote_table(table)} ({', '.join(map(quote_identifier, names))}) "
                f"FROM INFILE {quote_string(spool.name)} {_INSERT_SETTINGS} FORMAT {fmt}"
            )
            try:
                session.query(statement, "CSV")
            except RuntimeError as exc:  # chdb's ChdbError is a RuntimeError
                raise OlapError(f"cannot insert into {table}: {exc}") from None

    def close(self) -> None:
        with self._write_lock:
            if self._closed:
                return
            self._closed = True
            self._reader.close()
            self._writer.close()

    def _live(self, session: _Session) -> _Session:
        if self._closed:
            raise OlapError(f"the chDB store at {self._dir} is closed; open a new ChdbOlap")
        return session

    def _floats_of(self, table: str, names: tuple[str, ...]) -> list[int]:
        """Indexes of the inserted columns holding floats (NaN/inf need quoting in JSON)."""
        key = (table, names)
        if key not in self._float_columns:
            types = self._column_types(table)
            self._float_columns[key] = [
                i for i, n in enumerate(names) if n in types and _holds_float(parse_type(types[n]))
            ]
        return self._float_columns[key]

    def _arrow_types_of(self, table: str, names: tuple[str, ...]) -> list[Any] | None:
        """The Arrow type of each inserted column, or None if one has no exact twin (or is
        unknown: the row path then reports the server's error)."""
        key = (table, names)
        if key not in self._arrow_types:
            types = self._column_types(table)
            twins = [_arrow_twin(parse_type(types[n])) if n in types else None for n in names]
            self._arrow_types[key] = None if any(t is None for t in twins) else twins
        return self._arrow_types[key]

    def _column_types(self, table: str) -> dict[str, str]:
        db, _, name = table.rpartition(".")
        described = _run(
            self._writer,
            "SELECT name, type FROM system.columns WHERE database = "
            "if({db:String} = '', currentDatabase(), {db:String}) AND table = {t:String}",
            "JSONCompact",
            {"db": db, "t": name},
        )
        return {n: t for n, t in orjson.loads(described)["data"]} if described.strip() else {}


def _open_session(data_dir: Path) -> _Session:
    from chdb.session import Session

    try:
        session: _Session = Session(str(data_dir))  # type: ignore[no-untyped-call]
        return session
    except RuntimeError as exc:
        raise _open_error(data_dir, exc) from None


def _open_error(data_dir: Path, exc: RuntimeError) -> OlapUnavailable:
    message = str(exc)
    if "already initialized with path" in message:
        return OlapUnavailable(
            f"this process already has another chDB data dir open, so it cannot open {data_dir}; "
            "close the other ChdbOlap first (one process serves one data dir)"
        )
    if _locked_by_other_process(data_dir):
        return OlapUnavailable(
            f"data dir {data_dir} is in use by another Faramesh Cloud process; "
            "stop it or pass a different --data-dir"
        )
    return OlapUnavailable(f"cannot open the chDB data dir {data_dir}: {message}")


def _locked_by_other_process(data_dir: Path) -> bool:
    """True when another process holds ClickHouse's lock on ``<dir>/status``."""
    status = data_dir / "status"
    if not status.exists():
        return False
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def _run(session: _Session, sql: str, fmt: str, params: Params | None) -> bytes:
    try:
        result = session.query(sql, fmt, params=bind(sql, params) if params else None)
    except RuntimeError as exc:  # chdb's ChdbError is a RuntimeError
        raise OlapError(str(exc)) from None
    return bytes(result.bytes())


def _server_timezone(session: _Session) -> tzinfo:
    name = orjson.loads(_run(session, "SELECT timezone()", "JSONCompact", None))["data"][0][0]
    return UTC if name in ("UTC", "Etc/UTC") else ZoneInfo(name)


_ARROW_INTEGERS = {f"{sign}Int{bits}" for sign in ("", "U") for bits in (8, 16, 32, 64)}


def _arrow_twin(node: TypeNode) -> Any:
    """The Arrow type ClickHouse reads back as exactly ``node``, or None."""
    import pyarrow as pa

    if node.name == "LowCardinality":
        (inner,) = node.type_args()
        return _arrow_twin(inner)
    if node.name in ("String", "Enum8", "Enum16"):  # an enum takes its names as strings
        return pa.string()
    if node.name == "Bool":
        return pa.bool_()
    if node.name in _ARROW_INTEGERS:
        return pa.from_numpy_dtype(node.name.lower())
    return None


def _holds_float(node: TypeNode) -> bool:
    return node.name in _FLOATS or any(_holds_float(arg) for arg in node.type_args())


def _json_chunks(rows: Iterable[Sequence[Any]], encode: Callable[[Sequence[Any]], bytes],
                 chunk_rows: int) -> Iterator[bytes]:
    """``JSONCompactEachRow`` text for ``rows``, ``chunk_rows`` lines at a time."""
    chunk: list[bytes] = []
    for row in rows:
        chunk.append(encode(row))
        if len(chunk) >= chunk_rows:
            yield b"\n".join(chunk) + b"\n"
            chunk.clear()
    if chunk:
        yield b"\n".join(chunk) + b"\n"


def _row_encoder(float_columns: list[int]) -> Callable[[Sequence[Any]], bytes]:
    option = orjson.OPT_NAIVE_UTC

    if not float_columns:
        return lambda row: orjson.dumps(row, default=_json_default, option=option)

    def encode(row: Sequence[Any]) -> bytes:
        values = list(row)
        for i in float_columns:
            if i < len(values):
                values[i] = _quote_non_finite(values[i])
        return orjson.dumps(values, default=_json_default, option=option)

    return encode


def _quote_non_finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, list | tuple):
        return [_quote_non_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _quote_non_finite(v) for k, v in value.items()}
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return list(value)
    text = getattr(value, "compressed", None)  # ipaddress objects
    if isinstance(text, str):
        return text
    from decimal import Decimal

    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(
        f"cannot insert a {type(value).__name__}; convert it to str, int or float first"
    )
