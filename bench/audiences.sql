-- The benchmark's 20 audiences, each written twice: as the PQL segment definition the service
-- evaluates (the `-- pql:` line, read by `segmentation bench-job`) and as the DuckDB SQL that
-- means exactly the same thing (the statement after it, run by bench/duck.py). The benchmark
-- fails when the two disagree on any member.
--
-- Tables (bench/duck.py loads them from the JSON lines `segmentation bench-job --export` writes):
--   profiles: id (the generator's `_id`) and the XDM profile fields as nested STRUCTs and LISTs;
--             a field missing from a profile's document is NULL.
--   events:   profile_id, event_id (`_id`), ts (TIMESTAMP, UTC, ms), eventType, web, commerce,
--             productListItems.
--
-- How the SQL keeps PQL's meaning (docs/pql.md):
--   * `now` is the job's evaluation instant, 2026-06-01T00:00:00Z (TIMESTAMP '2026-06-01').
--   * A comparison with a missing side is false in PQL; SQL's NULL drops the row the same way.
--     `not (...)` is true on missing data in PQL, hence `NOT coalesce(..., false)`.
--   * `x occurs < N days before now` is now - N days < x <= now; `< N months` moves by calendar
--     months; `occurs last month` is [2026-05-01, 2026-06-01).
--   * Case-insensitive string functions (`, false`) lowercase both sides.
--   * Sums of doubles add in the engine's event order (timestamp, then event id) from 0.0, so the
--     SQL folds the values in that order too (`list_reduce`): floating-point addition is not
--     associative, and a sum landing on a threshold must round the same way.
--   * `chain` takes events in (timestamp, event id) order; a later step matches an event after
--     the event that matched the step before.

-- name: bench-00
-- pql: homeAddress.countryCode = "US"
SELECT id FROM profiles WHERE homeAddress.countryCode = 'US';

-- name: bench-01
-- pql: homeAddress.countryCode = "CA" and person.birthYear >= 1985
SELECT id FROM profiles WHERE homeAddress.countryCode = 'CA' AND person.birthYear >= 1985;

-- name: bench-02
-- pql: person.birthMonth in [3, 6, 9]
SELECT id FROM profiles WHERE person.birthMonth IN (3, 6, 9);

-- name: bench-03
-- pql: person.name.firstName.startsWith("jo", false)
SELECT id FROM profiles WHERE starts_with(lower(person.name.firstName), 'jo');

-- name: bench-04
-- pql: personalEmail.address matches "@(gmail|example)\\.com$" or workEmail.address.endsWith(".CO.UK", false)
SELECT id FROM profiles
WHERE regexp_matches(personalEmail.address, '@(gmail|example)\.com$')
   OR ends_with(lower(workEmail.address), '.co.uk');

-- name: bench-05
-- pql: homeAddress.city like "%o%" or not (homeAddress.countryCode in ["US", "CA", "MX"])
SELECT id FROM profiles
WHERE homeAddress.city LIKE '%o%'
   OR NOT coalesce(homeAddress.countryCode IN ('US', 'CA', 'MX'), false);

-- name: bench-06
-- pql: person.favoriteColors.intersects(["red", "blue"])
SELECT id FROM profiles WHERE list_has_any(person.favoriteColors, ['red', 'blue']);

-- name: bench-07
-- pql: "London" in person.citiesVisited and person.citiesVisited.count() >= 3
SELECT id FROM profiles
WHERE list_contains(person.citiesVisited, 'London') AND len(person.citiesVisited) >= 3;

-- name: bench-08
-- pql: orders.sum(price) > 200
SELECT id FROM profiles
WHERE list_reduce(list_transform(orders, lambda o: o.price), lambda a, b: a + b, 0.0::DOUBLE) > 200;

-- name: bench-09
-- pql: orders.storeId.distinct().count() >= 3
SELECT id FROM profiles WHERE len(list_distinct(list_transform(orders, lambda o: o.storeId))) >= 3;

-- name: bench-10
-- pql: loyalty.points / 100 >= 250 and loyalty.active = true
SELECT id FROM profiles WHERE loyalty.points / 100 >= 250 AND loyalty.active = true;

-- name: bench-11
-- pql: loyalty.tier in ["gold", "platinum"] and preferences.newsletter = true and workAddress.isNull()
SELECT id FROM profiles
WHERE loyalty.tier IN ('gold', 'platinum') AND preferences.newsletter = true
  AND workAddress IS NULL;

-- name: bench-12
-- pql: loyalty.joinDate occurs before date(2018, 1, 1)
SELECT id FROM profiles WHERE CAST(loyalty.joinDate AS TIMESTAMP) < TIMESTAMP '2018-01-01';

-- name: bench-13
-- pql: xEvent[eventType = "commerce.purchases"].count() > 2
SELECT profile_id AS id FROM events
WHERE eventType = 'commerce.purchases'
GROUP BY profile_id HAVING count(*) > 2;

-- name: bench-14
-- pql: select X from xEvent where X.eventType = "commerce.checkouts" and X.timestamp occurs < 30 days before now
SELECT DISTINCT profile_id AS id FROM events
WHERE eventType = 'commerce.checkouts'
  AND ts > TIMESTAMP '2026-06-01' - INTERVAL 30 DAY AND ts <= TIMESTAMP '2026-06-01';

-- name: bench-15
-- pql: xEvent[productListItems[SKU = "PS"] and timestamp occurs < 6 months before now]
SELECT DISTINCT profile_id AS id FROM events
WHERE list_contains(list_transform(productListItems, lambda i: i.SKU), 'PS')
  AND ts > TIMESTAMP '2026-06-01' - INTERVAL 6 MONTH AND ts <= TIMESTAMP '2026-06-01';

-- name: bench-16
-- pql: exists E from xEvent where E.commerce.order.priceTotal > 500 and E.commerce.order.currencyCode = "EUR"
SELECT DISTINCT profile_id AS id FROM events
WHERE commerce."order".priceTotal > 500 AND commerce."order".currencyCode = 'EUR';

-- name: bench-17
-- pql: xEvent[eventType = "web.webpagedetails.pageViews" and timestamp occurs last month].count() >= 2
SELECT profile_id AS id FROM events
WHERE eventType = 'web.webpagedetails.pageViews'
  AND ts >= TIMESTAMP '2026-05-01' AND ts < TIMESTAMP '2026-06-01'
GROUP BY profile_id HAVING count(*) >= 2;

-- name: bench-18
-- pql: chain(xEvent, timestamp, [A: WHAT(eventType = "commerce.productListAdds") WHEN(< 90 days before now), B: WHAT(eventType = "commerce.purchases")])
WITH first_add AS (
    SELECT profile_id, ts, event_id FROM events
    WHERE eventType = 'commerce.productListAdds'
      AND ts > TIMESTAMP '2026-06-01' - INTERVAL 90 DAY AND ts <= TIMESTAMP '2026-06-01'
    QUALIFY row_number() OVER (PARTITION BY profile_id ORDER BY ts, event_id) = 1
)
SELECT DISTINCT a.profile_id AS id
FROM first_add a JOIN events b ON b.profile_id = a.profile_id
WHERE b.eventType = 'commerce.purchases'
  AND (b.ts > a.ts OR (b.ts = a.ts AND b.event_id > a.event_id));

-- name: bench-19
-- pql: (sum X.commerce.order.priceTotal over X from xEvent where X.commerce.order.currencyCode = "USD") > 1000 or homeAddress.countryCode = "US" and xEvent[eventType = "directMarketing.emailClicked" and timestamp occurs < 2 weeks before now]
SELECT profile_id AS id FROM events
WHERE commerce."order".currencyCode = 'USD'
GROUP BY profile_id
HAVING list_reduce(list(commerce."order".priceTotal ORDER BY ts, event_id),
                   lambda a, b: a + b, 0.0::DOUBLE) > 1000
UNION
SELECT e.profile_id FROM events e JOIN profiles p ON p.id = e.profile_id
WHERE p.homeAddress.countryCode = 'US' AND e.eventType = 'directMarketing.emailClicked'
  AND e.ts > TIMESTAMP '2026-06-01' - INTERVAL 14 DAY AND e.ts <= TIMESTAMP '2026-06-01';
