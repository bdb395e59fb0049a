"""DynamoDB's consumed capacity for moto, which reports made-up figures.

`Capacity` is WSGI middleware in front of moto's app. For a DynamoDB call that asks
`ReturnConsumedCapacity` `TOTAL` or `INDEXES`, it reads the items the call touches from moto's
backend before and after the call, computes the capacity units by DynamoDB's documented rules,
and answers them as `ConsumedCapacity` in place of moto's (DynamoDB's shape: one object for a
single-item call, Query and Scan; a list, one entry per table, for batches and transactions;
`CapacityUnits` and its split into `ReadCapacityUnits` and `WriteCapacityUnits`; with
`INDEXES`, also `Table` and `GlobalSecondaryIndexes`). An error answer is left as it is:
DynamoDB reports no capacity with an error, though a failed conditional write is billed.

It must see the backend unchanged by other calls between its before and after: it holds its
own lock around the call (scripts/dynamodb_server.py also runs it inside its `atomic` lock).

The rules (DynamoDB Developer Guide and API Reference):

- item size: attribute names' UTF-8 bytes plus values: S their UTF-8 bytes, N 1 byte per two
  significant digits plus 1, B the raw bytes, BOOL and NULL 1, L and M 3 bytes plus their
  elements plus 1 byte per element, sets the sum of their members
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
- reads round each item up to 4 KB: strongly consistent 1 unit per 4 KB, eventually consistent
  0.5, transactional 2; an item that is not there costs the same minimum; BatchGetItem counts
  each item as a GetItem; Query and Scan count the total size of the items read (before any
  filter, whatever the projection) rounded up to 4 KB, per page (per call)
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
- writes round up to 1 KB on the larger of the item before and after the write, 1 unit per KB
  (a delete of a missing item, or a failed condition, still costs 1); transactional writes cost
  2 per KB (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html);
  a ConditionCheck in TransactWriteItems writes nothing and reads its item: counted here as a
  transactional read, 2 read units per 4 KB, reported as ReadCapacityUnits (our reading: the
  guide gives no figure for it; see ConditionCheck in
  https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html)
- a global secondary index costs writes when the item is in it before or after: 1 per KB of
  the index entry (its keys and projected attributes) that is put, updated or deleted, 2 when the
  index key changes (delete and put); nothing when the item is in it neither before nor after,
  or when its entry does not change (a KEYS_ONLY index and an update of other attributes)
  https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations
  Index writes are not doubled in transactions (the index is updated after the transaction).
"""
import io
import json
import math
import sys
import threading
from decimal import Decimal, InvalidOperation

TARGET_PREFIX = "DynamoDB_20120810."
READ_BLOCK = 4096
WRITE_BLOCK = 1024
ASKING = ("TOTAL", "INDEXES")


# --- item sizes ---------------------------------------------------------------------------

def number_size(text):
    """Bytes of an N value: 1 per two significant digits (leading and trailing zeroes trimmed),
    plus 1."""
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        return 1
    digits = value.as_tuple().digits
    significant = "".join(map(str, digits)).strip("0")
    return math.ceil(len(significant) / 2) + 1 if significant else 1


def binary_size(value):
    """Raw bytes of a B value (JSON carries it base64-encoded)."""
    text = value if isinstance(value, str) else ""
    padding = text.count("=")
    return max(len(text) * 3 // 4 - padding, 0)


def value_size(value):
    """Bytes of one AttributeValue ({"S": ...}, {"N": ...}, ...), name excluded."""
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return number_size(inner)
    if kind == "B":
        return binary_size(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(number_size(n) for n in inner)
    if kind == "BS":
        return sum(binary_size(b) for b in inner)
    if kind == "L":
        return 3 + sum(value_size(v) + 1 for v in inner)
    if kind == "M":
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in inner.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item):
    """Bytes of an item in DynamoDB's JSON (attribute name -> AttributeValue); 0 for none."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def blocks(size, block):
    """How many `block`s hold `size` bytes: at least one."""
    return max(1, math.ceil(size / block))


def read_units(size, consistent=False, transactional=False):
    per_block = 2 if transactional else 1 if consistent else 0.5
    return blocks(size, READ_BLOCK) * per_block


def write_units(size_before, size_after, transactional=False):
    return blocks(max(size_before, size_after), WRITE_BLOCK) * (2 if transactional else 1)


def index_entry(item, index, table_keys):
    """The entry of `item` in a secondary index (its keys and projected attributes), or None
    when the item lacks an index key attribute (a sparse index)."""
    if not item:
        return None
    index_keys = [k["AttributeName"] for k in index["KeySchema"]]
    if any(name not in item for name in index_keys):
        return None
    projection = index.get("Projection") or {}
    kind = projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return dict(item)
    names = set(index_keys) | set(table_keys)
    if kind == "INCLUDE":
        names |= set(projection.get("NonKeyAttributes") or [])
    return {name: value for name, value in item.items() if name in names}


def index_write_units(before, after, index, table_keys):
    """Write units an index costs for an item that was `before` and is `after`."""
    old, new = index_entry(before, index, table_keys), index_entry(after, index, table_keys)
    if old == new:
        return 0
    index_keys = [k["AttributeName"] for k in index["KeySchema"]]
    if old is not None and new is not None and any(old[k] != new[k] for k in index_keys):
        return blocks(item_size(old), WRITE_BLOCK) + blocks(item_size(new), WRITE_BLOCK)
    return blocks(max(item_size(old), item_size(new)), WRITE_BLOCK)


# --- the middleware -----------------------------------------------------------------------

class Usage:
    """Units per table (and per index) of one call."""

    def __init__(self):
        self.tables = {}  # table -> {"read", "write", "indexes": {index: write units}}

    def table(self, name):
        return self.tables.setdefault(name, {"read": 0.0, "write": 0.0, "indexes": {}})

    def read(self, table, units):
        self.table(table)["read"] += units

    def write(self, table, units):
        self.table(table)["write"] += units

    def index_write(self, table, index, units):
        indexes = self.table(table)["indexes"]
        indexes[index] = indexes.get(index, 0.0) + units

    def consumed(self, name, mode):
        usage = self.tables.get(name) or self.table(name)
        index_units = sum(usage["indexes"].values())
        total = usage["read"] + usage["write"] + index_units
        answer = {"TableName": name, "CapacityUnits": float(total)}
        if usage["read"]:
            answer["ReadCapacityUnits"] = float(usage["read"])
        if usage["write"] or index_units:
            answer["WriteCapacityUnits"] = float(usage["write"] + index_units)
        if mode == "INDEXES":
            table = {"CapacityUnits": float(usage["read"] + usage["write"])}
            if usage["read"]:
                table["ReadCapacityUnits"] = float(usage["read"])
            if usage["write"]:
                table["WriteCapacityUnits"] = float(usage["write"])
            answer["Table"] = table
            if usage["indexes"]:
                answer["GlobalSecondaryIndexes"] = {
                    index: {"CapacityUnits": float(units), "WriteCapacityUnits": float(units)}
                    for index, units in usage["indexes"].items()}
        return answer


class MotoTables:
    """Items and key schemas of moto's tables, by table name (names are unique per server)."""

    def table(self, name):
        from moto.dynamodb.models import dynamodb_backends
        for account in list(dynamodb_backends.keys()):
            regions = dynamodb_backends[account]
            for region in list(regions.keys()):
                table = regions[region].tables.get(name)
                if table is not None:
                    return table
        return None

    def keys(self, name):
        table = self.table(name)
        if table is None:
            return []
        return [k for k in (table.hash_key_attr, table.range_key_attr) if k]

    def indexes(self, name):
        table = self.table(name)
        if table is None:
            return []
        return [{"IndexName": i.name, "KeySchema": i.schema, "Projection": i.projection or {}}
                for i in table.global_indexes or []]

    def item(self, name, key):
        from moto.dynamodb.models.dynamo_type import DynamoType
        table = self.table(name)
        if table is None or table.hash_key_attr not in key:
            return None
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = None
        if table.range_key_attr:
            if table.range_key_attr not in key:
                return None
            range_key = DynamoType(key[table.range_key_attr])
        try:
            found = table.get_item(hash_key, range_key)
        except Exception:  # a malformed key: moto answers the error itself
            return None
        return found.to_json()["Attributes"] if found is not None else None


def key_of(item, key_names):
    return {name: item[name] for name in key_names if name in item}


def writes_of(operation, body):
    """(table, key or item, transactional, kind) of each item a write call touches."""
    if operation == "PutItem":
        return [(body.get("TableName"), body.get("Item") or {}, False, "Put")]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(body.get("TableName"), body.get("Key") or {}, False, operation[:-4])]
    if operation == "BatchWriteItem":
        found = []
        for table, requests in (body.get("RequestItems") or {}).items():
            for request in requests:
                if "PutRequest" in request:
                    found.append((table, request["PutRequest"].get("Item") or {}, False, "Put"))
                elif "DeleteRequest" in request:
                    found.append((table, request["DeleteRequest"].get("Key") or {}, False, "Delete"))
        return found
    if operation == "TransactWriteItems":
        found = []
        for action in body.get("TransactItems") or []:
            for kind, part in action.items():
                key = part.get("Item") if kind == "Put" else part.get("Key")
                found.append((part.get("TableName"), key or {}, True, kind))
        return found
    return []


def log_failure(operation, error):
    """Capacity is never worth failing a call for: moto's own figures are answered instead."""
    print(f"capacity.py: {operation}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)


def dynamodb_call(environ):
    """(operation, body) of a DynamoDB call, the body parsed ({} when unreadable) and the
    request's input rewound for the app behind; None for any other request."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target.startswith(TARGET_PREFIX):
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = {}
    return target[len(TARGET_PREFIX):], body


class Capacity:
    def __init__(self, app, tables=None):
        self.app = app
        self.tables = tables or MotoTables()
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        call = dynamodb_call(environ)
        if call is None:
            return self.app(environ, start_response)
        operation, body = call
        mode = body.get("ReturnConsumedCapacity") if isinstance(body, dict) else None
        if mode not in ASKING:
            return self.app(environ, start_response)
        answer = {}

        def capture(status_line, headers, exc_info=None):
            answer["status"], answer["headers"] = status_line, headers
            return lambda data: None

        with self.lock:
            try:
                writes = [(table, key_of(key, self.tables.keys(table)), transactional, kind)
                          for table, key, transactional, kind in writes_of(operation, body)]
                before = [self.tables.item(table, key) for table, key, _, _ in writes]
                reads = self.reads_before(operation, body)
            except Exception as error:  # a request moto will refuse, or a bug here: moto answers
                log_failure(operation, error)
                writes = None
            chunks = list(self.app(environ, capture))
            status_line, headers = answer["status"], answer["headers"]
            if writes is not None and status_line.startswith("200"):
                try:
                    after = [self.tables.item(table, key) for table, key, _, _ in writes]
                    chunks, headers = self.rewrite(operation, body, mode, chunks, headers,
                                                   writes, before, after, reads)
                except Exception as error:
                    log_failure(operation, error)
        start_response(status_line, headers)
        return chunks

    def reads_before(self, operation, body):
        """(table, item, consistent, transactional) of each item a read call reads."""
        if operation == "GetItem":
            table = body.get("TableName")
            return [(table, self.tables.item(table, body.get("Key") or {}),
                     bool(body.get("ConsistentRead")), False)]
        if operation == "BatchGetItem":
            return [(table, self.tables.item(table, key), bool(part.get("ConsistentRead")), False)
                    for table, part in (body.get("RequestItems") or {}).items()
                    for key in part.get("Keys") or []]
        if operation == "TransactGetItems":
            return [(action["Get"].get("TableName"),
                     self.tables.item(action["Get"].get("TableName"), action["Get"].get("Key") or {}),
                     True, True)
                    for action in body.get("TransactItems") or [] if "Get" in action]
        return []

    def usage(self, operation, body, answer, writes, before, after, reads):
        usage = Usage()
        for table, item, consistent, transactional in reads:
            usage.read(table, read_units(item_size(item), consistent, transactional))
        for (table, _, transactional, kind), old, new in zip(writes, before, after):
            if kind == "ConditionCheck":
                usage.read(table, read_units(item_size(old), transactional=True))
                continue
            usage.write(table, write_units(item_size(old), item_size(new), transactional))
            keys = self.tables.keys(table)
            for index in self.tables.indexes(table):
                units = index_write_units(old, new, index, keys)
                if units:
                    usage.index_write(table, index["IndexName"], units)
        if operation in ("Query", "Scan"):
            table = body.get("TableName")
            size = self.page_size(body, answer)
            usage.read(table, read_units(size, bool(body.get("ConsistentRead"))))
        return usage

    def page_size(self, body, answer):
        """Bytes a Query or Scan page read: the answer's items, whole (a projection does not
        lower the cost), or their index entries for a query of an index. With a filter, the items
        it dropped are not in the answer: moto's ScannedCount, when larger, counts them at the
        average size of those kept (exact for every query and scan the functions make, which
        filter nothing)."""
        table = body.get("TableName")
        keys = self.tables.keys(table)
        index_name = body.get("IndexName")
        index = next((i for i in self.tables.indexes(table) if i["IndexName"] == index_name), None)
        items = []
        for returned in answer.get("Items") or []:
            whole = self.tables.item(table, key_of(returned, keys)) or returned
            items.append(index_entry(whole, index, keys) if index else whole)
        size = sum(item_size(item) for item in items)
        scanned = answer.get("ScannedCount") or len(items)
        if items and scanned > len(items):
            size += size * (scanned - len(items)) // len(items)
        return size

    def rewrite(self, operation, body, mode, chunks, headers, writes, before, after, reads):
        try:
            answer = json.loads(b"".join(chunks) or b"{}")
        except ValueError:
            return chunks, headers
        usage = self.usage(operation, body, answer, writes, before, after, reads)
        if operation in ("BatchGetItem", "BatchWriteItem", "TransactGetItems", "TransactWriteItems"):
            names = list(dict.fromkeys(
                [t for t, *_ in writes] + [t for t, *_ in reads]
                + list((body.get("RequestItems") or {}).keys())))
            answer["ConsumedCapacity"] = [usage.consumed(name, mode) for name in names]
        else:
            answer["ConsumedCapacity"] = usage.consumed(body.get("TableName"), mode)
        data = json.dumps(answer).encode()
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        headers.append(("Content-Length", str(len(data))))
        return [data], headers
