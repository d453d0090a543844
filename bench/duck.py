"""DuckDB's side of the benchmark, run by bench/run.py in a child process of its own so its peak
memory is its own.

  duck.py load DATA_DIR DB_FILE            load profiles.jsonl and events.jsonl into a DuckDB file
  duck.py query DB_FILE AUDIENCES OUT_JSON run the 20 audiences, write timings and member sets

`query` times only the 20 statements, each materialising its audience as a table
(`CREATE TABLE ... AS SELECT id ...`), as the segment job commits its memberships; reading the
member sets back for the comparison happens after the clock and the peak-memory reading.
"""

import json
import re
import resource
import sys
import time

import duckdb

PROFILE_COLUMNS = {
    "_id": "VARCHAR",
    "person": "STRUCT(name STRUCT(firstName VARCHAR, lastName VARCHAR, fullName VARCHAR),"
    " birthYear BIGINT, birthMonth BIGINT, birthDayOfMonth BIGINT, birthDate VARCHAR,"
    " gender VARCHAR, age BIGINT, favoriteColors VARCHAR[], citiesVisited VARCHAR[])",
    "homeAddress": "STRUCT(countryCode VARCHAR, stateProvince VARCHAR, city VARCHAR,"
    " postalCode VARCHAR)",
    "workAddress": "STRUCT(countryCode VARCHAR, stateProvince VARCHAR)",
    "personalEmail": "STRUCT(address VARCHAR)",
    "workEmail": "STRUCT(address VARCHAR)",
    "mobilePhone": "STRUCT(number VARCHAR)",
    "loyalty": "STRUCT(tier VARCHAR, points BIGINT, joinDate VARCHAR, active BOOLEAN)",
    "orders": "STRUCT(orderId VARCHAR, storeId VARCHAR, price DOUBLE, quantity BIGINT)[]",
    "preferences": "STRUCT(newsletter BOOLEAN, channels VARCHAR[])",
    "identityMap": 'STRUCT("ECID" STRUCT(id VARCHAR, "primary" BOOLEAN)[],'
    ' "Email" STRUCT(id VARCHAR, authenticatedState VARCHAR)[])',
}

EVENT_COLUMNS = {
    "_id": "VARCHAR",
    "profileId": "VARCHAR",
    "timestamp": "VARCHAR",
    "eventType": "VARCHAR",
    "web": "STRUCT(webPageDetails STRUCT(name VARCHAR, isHomePage BOOLEAN))",
    "productListItems": "STRUCT(SKU VARCHAR, name VARCHAR, quantity BIGINT,"
    " priceTotal DOUBLE)[]",
    "commerce": 'STRUCT("order" STRUCT(purchaseID VARCHAR, priceTotal DOUBLE,'
    " currencyCode VARCHAR), purchases STRUCT(value BIGINT),"
    " productListAdds STRUCT(value BIGINT), checkouts STRUCT(value BIGINT))",
}


def columns_sql(columns):
    return "{" + ", ".join(f"'{k}': '{v}'" for k, v in columns.items()) + "}"


def load(data_dir, db_file):
    started = time.perf_counter()
    con = duckdb.connect(db_file)
    con.execute(
        "CREATE TABLE profiles AS SELECT _id AS id, * EXCLUDE (_id) FROM read_json("
        f"'{data_dir}/profiles.jsonl', format = 'newline_delimited',"
        f" columns = {columns_sql(PROFILE_COLUMNS)})"
    )
    # The generator writes timestamps as RFC 3339 UTC with milliseconds.
    con.execute(
        "CREATE TABLE events AS SELECT profileId AS profile_id, _id AS event_id,"
        " strptime(timestamp, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, eventType, web, commerce,"
        " productListItems FROM read_json("
        f"'{data_dir}/events.jsonl', format = 'newline_delimited',"
        f" columns = {columns_sql(EVENT_COLUMNS)})"
    )
    profiles = con.execute("SELECT count(*) FROM profiles").fetchone()[0]
    events = con.execute("SELECT count(*) FROM events").fetchone()[0]
    con.close()
    secs = time.perf_counter() - started
    print(json.dumps({"load_s": secs, "profiles": profiles, "events": events,
                      "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def audiences(path):
    """(name, pql, sql) for every audience of bench/audiences.sql."""
    out = []
    name = pql = None
    sql = []
    for line in open(path, encoding="utf-8").read().splitlines() + ["-- name: end"]:
        m = re.match(r"-- name:\s*(\S+)", line)
        if m:
            if name is not None:
                out.append((name, pql, "\n".join(sql).strip().rstrip(";")))
            name, pql, sql = m.group(1), None, []
            if name == "end":
                break
        elif line.startswith("-- pql:"):
            pql = line[len("-- pql:"):].strip()
        elif name is not None and not line.startswith("--"):
            sql.append(line)
    return out


def table_of(name):
    return "members_" + re.sub(r"\W", "_", name)


def query(db_file, audiences_file, out_file):
    con = duckdb.connect(db_file)
    suite = audiences(audiences_file)
    for name, _, _ in suite:
        con.execute(f"DROP TABLE IF EXISTS {table_of(name)}")
    timings = {}
    started = time.perf_counter()
    for name, _, sql in suite:
        t0 = time.perf_counter()
        con.execute(f"CREATE TABLE {table_of(name)} AS {sql}")
        timings[name] = time.perf_counter() - t0
    total = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    members = {
        name: [r[0] for r in con.execute(
            f"SELECT DISTINCT id FROM {table_of(name)} ORDER BY id").fetchall()]
        for name, _, _ in suite
    }
    con.close()
    with open(out_file, "w", encoding="utf-8") as f:
        json.dump({"total_s": total, "timings_s": timings, "peak_rss_kib": peak,
                   "threads": duckdb.connect().execute(
                       "SELECT current_setting('threads')").fetchone()[0],
                   "members": members}, f)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "load":
        load(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "query":
        query(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
