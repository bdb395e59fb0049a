"""DynamoDB's capacity rules as scripts/capacity.py computes them, on the AWS docs' examples,
and its middleware on a stand-in for moto."""
import io
import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import capacity  # noqa: E402
from capacity import (blocks, index_write_units, item_size, number_size,  # noqa: E402
                      read_units, value_size, write_units)

KB = 1024


def test_strings_and_binaries_count_their_bytes_and_the_name():
    assert item_size({"name": {"S": "abc"}}) == 4 + 3
    assert item_size({"é": {"S": "€"}}) == 2 + 3  # UTF-8 bytes, not characters
    assert item_size({"b": {"B": "AAECAw=="}}) == 1 + 4  # raw bytes, not base64


def test_numbers_take_a_byte_per_two_significant_digits_plus_one():
    assert number_size("1") == 2
    assert number_size("12") == 2
    assert number_size("123") == 3
    assert number_size("1000000") == 2  # trailing zeroes trimmed
    assert number_size("0.0012") == 2  # leading zeroes trimmed
    assert number_size("1700000000123") == 8  # an expiry in milliseconds


def test_booleans_nulls_lists_maps_and_sets():
    assert value_size({"BOOL": True}) == 1
    assert value_size({"NULL": True}) == 1
    assert value_size({"L": []}) == 3  # an empty list or map: 3 bytes
    assert value_size({"M": {}}) == 3
    # 3 bytes, then each element with its 1 byte: "ab" (2 + 1) and 7 (2 + 1)
    assert value_size({"L": [{"S": "ab"}, {"N": "7"}]}) == 3 + 3 + 3
    # map members count their names too
    assert value_size({"M": {"k": {"S": "v"}}}) == 3 + (1 + 1 + 1)
    assert value_size({"SS": ["a", "bc"]}) == 3
    assert value_size({"NS": ["1", "22"]}) == 4


def test_an_item_of_every_kind_adds_names_values_and_overheads():
    # The guide's rules (CapacityUnitCalculations), term by term.
    item = {"Id": {"N": "101"}, "Title": {"S": "Book 101 Title"}, "InPublication": {"BOOL": False},
            "Authors": {"L": [{"S": "Author1"}]}, "Dimensions": {"M": {"Height": {"N": "8"}}}}
    assert item_size(item) == ((2 + 3) + (5 + 14) + (13 + 1) + (7 + 3 + 7 + 1)
                               + (10 + 3 + (6 + 2 + 1)))


@pytest.mark.parametrize("size,consistent,transactional,units", [
    (3500, True, False, 1),      # "reading a 3,500-byte item consumes the same as a 4 KB item"
    (8 * KB, True, False, 2),    # an 8 KB item: 2 strongly consistent,
    (8 * KB, False, False, 1),   # 1 eventually consistent,
    (8 * KB, False, True, 4),    # 4 transactional
    (10 * KB, True, False, 3),   # 10 KB rounds up to 12 KB
    (0, False, False, 0.5),      # an item that is not there still costs the minimum
    (0, True, False, 1),
])
def test_reads_round_each_item_up_to_4_kb(size, consistent, transactional, units):
    assert read_units(size, consistent, transactional) == units


def test_batch_get_rounds_each_item_not_the_sum():
    # "two items of 1.5 KB and 6.5 KB: 12 KB (4 KB + 8 KB), not 8 KB"
    assert read_units(1536, True) + read_units(6656, True) == 3


@pytest.mark.parametrize("before,after,transactional,units", [
    (0, 500, False, 1),
    (0, 1536, False, 2),          # 1.5 KB rounds up to 2 KB
    (3 * KB, 100, False, 3),      # the larger of before and after
    (0, 0, False, 1),             # a delete of nothing, a failed condition: still 1
    (0, 1536, True, 4),           # transactional: twice
])
def test_writes_round_up_to_1_kb_on_the_larger_item(before, after, transactional, units):
    assert write_units(before, after, transactional) == units


GRANTS_BY_USER = {"IndexName": "grants_by_user",
                  "KeySchema": [{"AttributeName": "grant_sub", "KeyType": "HASH"},
                                {"AttributeName": "grant_client", "KeyType": "RANGE"}],
                  "Projection": {"ProjectionType": "KEYS_ONLY"}}
GRANT = {"pk": {"S": "grant#1"}, "grant_sub": {"S": "alice"}, "grant_client": {"S": "app"},
         "revoked": {"BOOL": False}}
TOKEN = {"pk": {"S": "jti#1"}, "expires_at": {"N": "1700000000"}}


def test_a_sparse_index_costs_only_items_in_it():
    assert index_write_units(None, GRANT, GRANTS_BY_USER, ["pk"]) == 1  # a grant put in
    assert index_write_units(GRANT, None, GRANTS_BY_USER, ["pk"]) == 1  # deleted
    assert index_write_units(None, TOKEN, GRANTS_BY_USER, ["pk"]) == 0  # never in it
    # KEYS_ONLY: an update of other attributes leaves the entry as it was
    revoked = dict(GRANT, revoked={"BOOL": True})
    assert index_write_units(GRANT, revoked, GRANTS_BY_USER, ["pk"]) == 0
    # a changed index key: delete and put
    moved = dict(GRANT, grant_client={"S": "other"})
    assert index_write_units(GRANT, moved, GRANTS_BY_USER, ["pk"]) == 2


def test_blocks_never_fall_below_one():
    assert blocks(0, KB) == 1 and blocks(KB, KB) == 1 and blocks(KB + 1, KB) == 2


class FakeTables:
    """moto's tables as capacity.py reads them, over plain dicts."""

    def __init__(self):
        self.items = {"t-tokens": {}, "t-keys": {}}

    def keys(self, name):
        return ["pk"] if name == "t-tokens" else ["kid"]

    def indexes(self, name):
        return [GRANTS_BY_USER] if name == "t-tokens" else []

    def item(self, name, key):
        (attribute, value), = key.items() if key else ((None, None),)
        return self.items.get(name, {}).get(json.dumps(value))


def call(app, operation, body):
    raw = json.dumps(body).encode()
    environ = {"HTTP_X_AMZ_TARGET": capacity.TARGET_PREFIX + operation,
               "CONTENT_LENGTH": str(len(raw)), "wsgi.input": io.BytesIO(raw)}
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers

    data = b"".join(app(environ, start_response))
    assert dict(answer["headers"])["Content-Length"] == str(len(data))
    return answer["status"], json.loads(data)


def moto_standin(tables, answers):
    """Writes the request's Put items and answers `answers[operation]` with moto's figures."""
    def app(environ, start_response):
        operation = environ["HTTP_X_AMZ_TARGET"].split(".", 1)[1]
        body = json.loads(environ["wsgi.input"].read())
        for action in body.get("TransactItems") or []:
            if "Put" in action:
                item = action["Put"]["Item"]
                tables.items[action["Put"]["TableName"]][json.dumps(item["pk"])] = item
        data = json.dumps(answers.get(operation, {"ConsumedCapacity": {"CapacityUnits": 99}})).encode()
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0"),
                                  ("Content-Length", str(len(data)))])
        return [data]
    return app


def test_the_middleware_answers_dynamodbs_figures_in_place_of_motos():
    tables = FakeTables()
    app = capacity.Capacity(moto_standin(tables, {"TransactWriteItems": {}}), tables=tables)
    status, answer = call(app, "TransactWriteItems", {
        "ReturnConsumedCapacity": "TOTAL",
        "TransactItems": [{"Put": {"TableName": "t-tokens", "Item": GRANT}},
                          {"Put": {"TableName": "t-tokens", "Item": TOKEN}},
                          {"ConditionCheck": {"TableName": "t-keys", "Key": {"kid": {"S": "k"}},
                                              "ConditionExpression": "attribute_exists(kid)"}}]})
    assert status == "200 OK"
    # two transactional puts (2 each), the grant's index entry (1); the check: a transactional read
    assert answer["ConsumedCapacity"] == [
        {"TableName": "t-tokens", "CapacityUnits": 5.0, "WriteCapacityUnits": 5.0},
        {"TableName": "t-keys", "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}]

    status, answer = call(app, "GetItem", {"ReturnConsumedCapacity": "TOTAL", "TableName": "t-tokens",
                                           "Key": {"pk": {"S": "grant#1"}}, "ConsistentRead": True})
    assert answer["ConsumedCapacity"] == {"TableName": "t-tokens", "CapacityUnits": 1.0,
                                          "ReadCapacityUnits": 1.0}


def test_a_call_that_does_not_ask_is_passed_through():
    tables = FakeTables()
    app = capacity.Capacity(moto_standin(tables, {}), tables=tables)
    _, answer = call(app, "GetItem", {"TableName": "t-tokens", "Key": {"pk": {"S": "x"}}})
    assert answer == {"ConsumedCapacity": {"CapacityUnits": 99}}


def test_a_failure_here_answers_motos_figures():
    class Broken(FakeTables):
        def item(self, name, key):
            raise RuntimeError("broken")

    tables = Broken()
    app = capacity.Capacity(moto_standin(tables, {}), tables=tables)
    status, answer = call(app, "GetItem", {"ReturnConsumedCapacity": "TOTAL", "TableName": "t-tokens",
                                           "Key": {"pk": {"S": "x"}}})
    assert status == "200 OK"
    assert answer == {"ConsumedCapacity": {"CapacityUnits": 99}}
