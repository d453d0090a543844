//! Every example expression of spec Part 2 §6 (rows 1-130), verbatim, and the test that each
//! parses.
//!
//! None of the rows is refused at parse time: the refusals of Part 1 (no `null` literal, no
//! comments, no numeric indexing, no `@{...}`) do not occur in the corpus. Rows that Part 1 leaves
//! to the compiler (row 26 `person.filter(...)` on an object, row 27 `numbers.map(square)`, row 3
//! `(Profile) => ...`, a lambda at top level) are syntactically fine and must parse.

use super::parse;

/// `(row, expression)` for rows 1-130 of Part 2 §6.
pub(super) const CORPUS: [(u32, &str); 130] = [
    (
        1,
        r#"homeAddress.stateProvince = workAddress.stateProvince"#,
    ),
    (
        2,
        r#"$1.homeAddress.stateProvince = $1.homeAddress.stateProvince"#,
    ),
    (
        3,
        r#"(Profile) => Profile.homeAddress.stateProvince = Profile.workAddress.stateProvince"#,
    ),
    (4, r#"X.timestamp occurs before today"#),
    (5, r#"X.timestamp occurs last month"#),
    (6, r#"X.timestamp occurs <= 3 days before now"#),
    (
        7,
        r#"homeAddress.countryISO = "CA" and person.birthYear = 1985"#,
    ),
    (
        8,
        r#"homeAddress.countryISO = "CA" or person.birthYear = 1985"#,
    ),
    (9, r#"not (homeAddress.countryISO = "CA")"#),
    (10, r#"if (homeAddress.countryISO = "CA", 1, 2)"#),
    (11, r#"homeAddress.countryISO != "CA""#),
    (12, r#"person.birthMonth > 2"#),
    (13, r#"person.birthMonth >= 3"#),
    (14, r#"person.birthMonth < 2"#),
    (15, r#"person.birthMonth <= 2"#),
    (16, r#"person.birthMonth in [3, 6, 9]"#),
    (17, r#"person.birthMonth notIn [3, 6, 9]"#),
    (
        18,
        r#"person.favoriteColors.intersects(["red", "blue", "green"])"#,
    ),
    (
        19,
        r#"person1.favoriteColors.intersection(person2.favoriteColors) = ["red", "blue", "green"]"#,
    ),
    (
        20,
        r#"person.favoriteCities.subsetOf(person.visitedCities)"#,
    ),
    (21, r#"person.eatenFoods.supersetOf(["sushi", "pizza"])"#),
    (22, r#"person.favoriteColors.includes("red")"#),
    (23, r#"person.orders.storeId.distinct().count() > 1"#),
    (24, r#"orders.groupBy(storeId)"#),
    (25, r#"xEvent[type="order"].groupBy(storeId)"#),
    (26, r#"person.filter(age >= 21)"#),
    (27, r#"numbers.map(square)"#),
    (28, r#"orders.topN(price, 5)"#),
    (29, r#"orders.bottomN(price, 5)"#),
    (30, r#"orders.topN(price, 5).head()"#),
    (31, r#"identityMap.get("example@example.com")"#),
    (32, r#"identityMap.keys()"#),
    (33, r#"identityMap.values()"#),
    (34, r#"city like "%es%""#),
    (35, r#"person.name.startsWith("Joe")"#),
    (36, r#"person.name.doesNotStartWith("Joe")"#),
    (37, r#"person.emailAddress.endsWith(".com")"#),
    (38, r#"person.emailAddress.doesNotEndWith(".com")"#),
    (39, r#"person.emailAddress.contains("2010@gm")"#),
    (40, r#"person.emailAddress.doesNotContain("2010@gm")"#),
    (41, r#"person.name.equals("John")"#),
    (42, r#"person.name.notEqualTo("John")"#),
    (43, r#"person.name.matches("(?i)^John")"#),
    (44, r#"emailAddress.regexGroup("@(\\w+)", 1)"#),
    (45, r#"person.homeAddress.isNull()"#),
    (46, r#"person.homeAddress.isNotNull()"#),
    (47, r#"product1.price + product2.price"#),
    (48, r#"product.inventory * product.price"#),
    (49, r#"product1.price - product2.price"#),
    (50, r#"totalProduct.price / totalProduct.sold"#),
    (51, r#"person.age % 5 = 0"#),
    (52, r#"orders.count()"#),
    (53, r#"orders.sum(order.price)"#),
    (54, r#"orders.average(order.price)"#),
    (55, r#"orders.min(order.price)"#),
    (56, r#"orders.max(order.price)"#),
    (57, r#"person.birthMonth = currentMonth()"#),
    (58, r#"person.birthdate.getMonth() = 6"#),
    (59, r#"product.saleYear = currentYear()"#),
    (
        60,
        r#"person.birthday.getYear() in [1991, 1992, 1993, 1994, 1995]"#,
    ),
    (61, r#"person.birthDay = currentDayOfMonth()"#),
    (62, r#"product.sale.getDayOfMonth() <= 15"#),
    (63, r#"product.saleDate occurs last week"#),
    (
        64,
        r#"product.saleDate occurs between date(2015, 1, 8) and date(2017, 7, 1)"#,
    ),
    (65, r#"product.saleDate occurs = 3 hours before now"#),
    (66, r#"person.birthday occurs = 3 days before today"#),
    (67, r#"xEvent[productListItems[SKU="PS"]]"#),
    (
        68,
        r#"xEvent[productListItems[SKU="PS" or ^^.person.gender="female"]]"#,
    ),
    (
        69,
        r#"exists E from xEvent where (E.commerce.item.price > 50), I from E.productListItems where I.SKU = "PS""#,
    ),
    (
        70,
        r#"forall E from xEvent where (E.commerce.item.price > 50), I from E.productListItems where I.SKU = "PS""#,
    ),
    (
        71,
        r#"let S = (sum X.commerce.order.priceTotal over X from xEvent where X.commerce.order.currencyCode = "USD") in (S > 100 and S < 1000)"#,
    ),
    (72, r#"workAddress.country = "US""#),
    (73, r#"homeAddress.country = "US""#),
    (
        74,
        r#"select var1 from xEvent where var1._experience.analytics.endUser.firstWeb.webPageDetails.isHomePage = true"#,
    ),
    (
        75,
        r#"select var1 from xEvent where var1._experience.analytics.endUser.firstWeb.webPageDetails.isHomePage = false"#,
    ),
    (
        76,
        r#"CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(today)])"#,
    ),
    (77, r#"homeAddress.country.equals("US", false)"#),
    (
        78,
        r#"workAddress.country.equals("US", false) and CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(today)])"#,
    ),
    (
        79,
        r#"inSegment("a730ed3f-119c-415b-a4ac-27c396ae2dff") and inSegment("8fbbe169-2da6-4c9d-a332-b6a6ecf559b9")"#,
    ),
    (
        80,
        r#"workAddress.country.equals("US", false) and CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals("directMarketing.emailClicked", false)) WHEN(today), C1: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(today)])"#,
    ),
    (
        81,
        r#"inSegment("e3be6d7f-1727-401f-a41e-c296b45f607a") and CHAIN(xEvent, timestamp, [C0: WHAT(eventType.equals("commerce.checkouts", false)) WHEN(<= 24 hours before now)])"#,
    ),
    (
        82,
        r#"chain(xEvent, timestamp, [A: WHAT(eventType = "addToCart")])"#,
    ),
    (
        83,
        r#"homeAddress.countryCode = "US" and chain(xEvent, timestamp, [A: WHAT(eventType = "addToCart")])"#,
    ),
    (
        84,
        r#"not(chain(xEvent, timestamp, [A: WHAT(eventType = "homePageView")]))"#,
    ),
    (
        85,
        r#"chain(xEvent, timestamp, [X: WHAT(eventType = "addToCart") WHEN(< 8 days before now)])"#,
    ),
    (
        86,
        r#"homeAddress.countryCode = "US" and not(chain(xEvent, timestamp, [X: WHAT(eventType = "addToCart") WHEN(< 8 days before now)]))"#,
    ),
    (
        87,
        r#"chain(xEvent, timestamp, [A: WHAT(eventType = "homePageView") WHEN(< 24 hours before now) COUNT(5) ] )"#,
    ),
    (
        88,
        r#"not(chain(xEvent, timestamp, [A: WHAT(eventType = "homePageView") WHEN(< 24 hours before now) COUNT(5) ] ))"#,
    ),
    (
        89,
        r#"chain(xEvent, timestamp, [X: WHAT(eventType = "homePageView") WHEN(< 24 hours before now)]) and chain(xEvent, timestamp, [X: WHAT(eventType = "checkoutPageView") WHEN(< 24 hours before now)])"#,
    ),
    (
        90,
        r#"homeAddress.countryCode = "US" and inSegment("existing segment")"#,
    ),
    (
        91,
        r#"chain(xEvent, timestamp, [A: WHAT(eventType = "addToCart") WHERE(externalSegmentMapProperty.values().exists(stringProperty="active"))])"#,
    ),
    (92, r#"xEvent.metrics.commerce.abandons.value > 0"#),
    (
        93,
        r#"person.gender in ["male"] and CHAIN(xEvent, timestamp, [C0: WHAT(productListItems.exists(name.equals("iPhone 15 Pro", false)))])"#,
    ),
    (
        94,
        r#"xEvent[(timestamp occurs < 7 days before now) and eventType="download" and contentType = "image"].count()"#,
    ),
    (
        95,
        r#"xEvent[(timestamp occurs < 7 days before now) and eventType="transaction" and category = "sporting goods"].sum(commerce.order.priceTotal)"#,
    ),
    (
        96,
        r#"chain(xEvent, timestamp, [A: WHAT(eventType = "transaction") WHEN(< 7 days before now)])"#,
    ),
    (
        97,
        r#"xEvent[(timestamp occurs < 7 days before now) and eventType="download"].groupBy(product).map((K, G) => mapEntry(K, G.count()))"#,
    ),
    (
        98,
        r#"xEvent[(timestamp occurs < 7 days before now) and eventType="download"].groupBy(product).map((K, G) => mapEntry(K, {"count": G.count(), "sum": G.sum(commerce.order.priceTotal)}))"#,
    ),
    (99, r#"if(person.gender = "female", 60, 65)"#),
    (100, r#"person.birthYear >= 2000"#),
    (
        101,
        r#"if(homeAddress.countryCode in ["US","MX","CA"], "NA", "ROW")"#,
    ),
    (102, r#"person.birthDate.getMonth() = currentMonth()"#),
    (103, r#"homeAddress"#),
    (104, r#"homeAddress.countryISO"#),
    (
        105,
        r#"homeAddress.countryISO = "US" and homeAddress.stateProvinceISO in ["CA", "OR"]"#,
    ),
    (106, r#"workEmail.address like "%.edu""#),
    (
        107,
        r#"select PV from xEvent where PV.metrics.commerce.productListViews.value > 0, Item from PV.productListItems where Item.SKU = "PS""#,
    ),
    (
        108,
        r#"select A1 from xEvent where A1.metrics.commerce.abandons.value > 0, A2 from xEvent where A2.metrics.commerce.abandons.value > 0 and A1.id != A2.id and A1.timestamp occurs < 2 days before A2.timestamp"#,
    ),
    (109, r#"select X from xEvent where X.commerce.order"#),
    (
        110,
        r#"select X from xEvent where X.commerce.order.purchaseId != """#,
    ),
    (
        111,
        r#"select Order1 from xEvent where Order1.commerce.order, Order2 from xEvent where Order2.commerce.order and Order2.timestamp occurs < 2 weeks after Order1.timestamp"#,
    ),
    (
        112,
        r#"homeAddress.countryISO = "US" and (select Order1 from xEvent where Order1.commerce.order, Order2 from xEvent where Order2.commerce.order and Order2.timestamp occurs < 2 weeks after Order1.timestamp)"#,
    ),
    (
        113,
        r#"_repo.lastModifiedDate occurs <= 30 minutes before now"#,
    ),
    (114, r#"_repo.modifyDate occurs after date(2019, 4, 1)"#),
    (
        115,
        r#"(select X from xEvent where X.productListItems.count() > 2).count() > 5"#,
    ),
    (
        116,
        r#"X.timestamp occurs between date(currentYear() - 1, 10, 1) and date(currentYear() - 1, 12, 31)"#,
    ),
    (
        117,
        r#"X.timestamp occurs between last month and last week"#,
    ),
    (118, r#"X.timestamp occurs > 3 weeks after date(2017,10,1)"#),
    (
        119,
        r#"select X from xEvent where X.timestamp.getYear() = currentYear()"#,
    ),
    (
        120,
        r#"(sum X.commerce.order.priceTotal + Y.commerce.order.priceTotal over X from xEvent where X.commerce.order, Y from xEvent where Y.commerce.order and Y.timestamp occurs < 2 weeks after X.timestamp) > 1000"#,
    ),
    (121, r#""London" in citiesVisited"#),
    (
        122,
        r#"not(person.citiesVisited.intersects(person.favoriteCities))"#,
    ),
    (
        123,
        r#"(select X from xEvent where X.type = "FLIGHT").count() > 1 and (select X from xEvent where X.type = "LOST_BAG").count() > 0"#,
    ),
    (
        124,
        r#"select X from xEvent where X.timestamp occurs before today and (select I from X.productListItems where I.SKU = "PS")"#,
    ),
    (
        125,
        r#"if( offer.characteristics.get("city") = homeAddress.city, offer.rank.priority * 2, offer.rank.priority)"#,
    ),
    (
        126,
        r#"if( offer.selectionConstraint.endDate occurs <= 24 hours after now, offer.rank.priority * 3, offer.rank.priority)"#,
    ),
    (
        127,
        r#"let score = (select _Individual_Scoring1 from _salesvelocity.individualScoring where _Individual_Scoring1.core.category.equals(offer.characteristics.get("propensityType"), false)).head().core.propensityScore in if(score.isNotNull(), score, offer.rank.priority)"#,
    ),
    (
        128,
        r#"if( segmentMembership.get("ups").get(offer.characteristics.get("prioritySegmentId")).status in (["realized","existing"]), offer.rank.priority + 10, offer.rank.priority)"#,
    ),
    (
        129,
        r#"personalEmail.address.endsWith("testxdmmail.com", false)"#,
    ),
    (
        130,
        r#"homeAddress.stateOrProvince = "CA" AND (some x FROM xEvent WHERE commerce.order.priceTotal > 1000 AND x.commerce.order.currencyCode = "USD")"#,
    ),
];

#[test]
fn every_corpus_row_parses() {
    let mut failures = Vec::new();
    for (row, src) in CORPUS {
        if let Err(e) = parse(src) {
            failures.push(format!("row {row}: {}\n  {src}", e.describe(src)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
