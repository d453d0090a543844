//! Deterministic generator of realistic XDM profiles and experience events, for the demo sandbox,
//! benchmarks and tests. The same seed always yields the same data, so runs are comparable.
//!
//! A profile carries ~30 attributes (person, addresses, emails, loyalty, orders, preferences,
//! identityMap); its events are purchases, product views, cart adds, checkouts, page views and email
//! clicks spread over the 18 months before the reference instant.

use serde_json::{Value as Json, json};

/// A small, fast, seedable PRNG (SplitMix64): good enough for test data, no dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1).max(1) as u64) as i64
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "John", "Joe", "Maria", "Anna", "Liam", "Olivia", "Noah", "Emma", "Lucas", "Mia", "Johnny",
    "Sofia", "Ethan", "Ava", "Mateo", "Chloe",
];
const LAST: &[&str] = &[
    "Smith", "Garcia", "Martin", "Rossi", "Müller", "Dubois", "Tanaka", "Silva", "Kowalski",
    "Brown",
];
const COUNTRIES: &[&str] = &["US", "CA", "MX", "GB", "FR", "DE", "JP", "BR"];
const STATES: &[&str] = &["CA", "OR", "WA", "NY", "TX", "ON", "QC", "BC"];
const CITIES: &[&str] = &[
    "London", "Paris", "Berlin", "Tokyo", "Toronto", "Austin", "Madrid", "Lisbon", "Rome", "Oslo",
];
const COLORS: &[&str] = &["red", "blue", "green", "black", "white", "yellow"];
const DOMAINS: &[&str] = &[
    "gmail.com",
    "example.com",
    "school.edu",
    "corp.co.uk",
    "mail.fr",
];
const TIERS: &[&str] = &["bronze", "silver", "gold", "platinum"];
const SKUS: &[&str] = &["PS", "AI", "LR", "PR", "AE", "XD", "ID", "AU"];
const EVENT_TYPES: &[&str] = &[
    "commerce.purchases",
    "commerce.productViews",
    "commerce.productListAdds",
    "commerce.checkouts",
    "web.webpagedetails.pageViews",
    "directMarketing.emailClicked",
];

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    pub seed: u64,
    /// Reference instant (epoch ms): events fall in the 18 months before it.
    pub now: i64,
    /// Events per profile are drawn from 0..=max_events, skewed towards few.
    pub max_events: u32,
}

/// One generated profile: its id, XDM document and events.
#[derive(Debug, Clone)]
pub struct GeneratedProfile {
    pub id: String,
    pub profile: Json,
    pub events: Vec<Json>,
}

impl GeneratedProfile {
    /// The `ProfileRecord` JSON form (`{"id", "profile", "events"}`).
    pub fn to_record_json(&self) -> Json {
        json!({"id": self.id, "profile": self.profile, "events": self.events})
    }
}

/// Profile number `index` of the data set described by `opts` (independent of other indexes, so
/// data sets can be generated in parallel or in pages).
pub fn profile(opts: &GenOptions, index: u64) -> GeneratedProfile {
    let mut rng = Rng::new(opts.seed.wrapping_mul(0x1000_0000_01B3).wrapping_add(index));
    let id = format!("p{index:07}");
    let doc = profile_document(&mut rng, &id);
    let n_events = skewed_count(&mut rng, opts.max_events);
    let events = (0..n_events)
        .map(|i| event(&mut rng, opts.now, &id, i))
        .collect();
    GeneratedProfile {
        id,
        profile: doc,
        events,
    }
}

/// Skewed towards small counts: most profiles have few events, a few have many.
fn skewed_count(rng: &mut Rng, max: u32) -> u32 {
    if max == 0 {
        return 0;
    }
    let u = (rng.below(1_000_000) as f64) / 1_000_000.0;
    ((u * u * u) * (max as f64 + 1.0)).floor().min(max as f64) as u32
}

fn profile_document(rng: &mut Rng, id: &str) -> Json {
    let first = *rng.pick(FIRST);
    let last = *rng.pick(LAST);
    let email = format!(
        "{}.{}{}@{}",
        first.to_lowercase(),
        last.to_lowercase(),
        rng.below(100),
        rng.pick(DOMAINS)
    );
    let birth_year = rng.range(1950, 2008);
    let orders: Vec<Json> = (0..rng.below(6))
        .map(|i| {
            json!({
                "orderId": format!("{id}-o{i}"),
                "storeId": format!("s{}", rng.below(8)),
                "price": (rng.range(500, 50_000) as f64) / 100.0,
                "quantity": rng.range(1, 5),
            })
        })
        .collect();
    let colors: Vec<&str> = (0..rng.below(4)).map(|_| *rng.pick(COLORS)).collect();
    let visited: Vec<&str> = (0..rng.below(5)).map(|_| *rng.pick(CITIES)).collect();
    let mut doc = json!({
        "_id": id,
        "person": {
            "name": {"firstName": first, "lastName": last, "fullName": format!("{first} {last}")},
            "birthYear": birth_year,
            "birthMonth": rng.range(1, 12),
            "birthDayOfMonth": rng.range(1, 28),
            "birthDate": format!("{birth_year:04}-{:02}-{:02}", rng.range(1, 12), rng.range(1, 28)),
            "gender": *rng.pick(&["female", "male", "non-specific"]),
            "age": 2026 - birth_year,
            "favoriteColors": colors,
            "citiesVisited": visited,
        },
        "homeAddress": {
            "countryCode": *rng.pick(COUNTRIES),
            "stateProvince": *rng.pick(STATES),
            "city": *rng.pick(CITIES),
            "postalCode": format!("{:05}", rng.below(99_999)),
        },
        "personalEmail": {"address": email},
        "mobilePhone": {"number": format!("+1-555-{:04}", rng.below(10_000))},
        "loyalty": {
            "tier": *rng.pick(TIERS),
            "points": rng.range(0, 100_000),
            "joinDate": format!("20{:02}-{:02}-{:02}T10:00:00Z", rng.range(10, 25), rng.range(1, 12), rng.range(1, 28)),
            "active": rng.chance(80),
        },
        "orders": orders,
        "preferences": {
            "newsletter": rng.chance(40),
            "channels": (0..rng.below(3)).map(|_| *rng.pick(&["email", "sms", "push"])).collect::<Vec<_>>(),
        },
        "identityMap": {
            "ECID": [{"id": format!("{:020}", rng.next_u64()), "primary": true}],
            "Email": [{"id": email, "authenticatedState": "authenticated"}],
        },
        "_repo": {"lastModifiedDate": "2026-01-01T00:00:00Z"},
    });
    if rng.chance(30) {
        doc["workAddress"] =
            json!({"countryCode": *rng.pick(COUNTRIES), "stateProvince": *rng.pick(STATES)});
        doc["workEmail"] =
            json!({"address": format!("{}@{}", first.to_lowercase(), rng.pick(DOMAINS))});
    }
    if rng.chance(10) {
        // Missing data is normal: some profiles lack an address or a birth year.
        if let Some(o) = doc.as_object_mut() {
            o.remove("homeAddress");
        }
    }
    doc
}

const EIGHTEEN_MONTHS_MS: i64 = 548 * 86_400_000;

fn event(rng: &mut Rng, now: i64, profile_id: &str, i: u32) -> Json {
    let ts = now - rng.range(0, EIGHTEEN_MONTHS_MS);
    let event_type = *rng.pick(EVENT_TYPES);
    let timestamp = crate::pql::value::format_millis(ts);
    let items: Vec<Json> = (0..rng.range(1, 3))
        .map(|_| {
            json!({
                "SKU": *rng.pick(SKUS),
                "name": format!("Product {}", rng.below(50)),
                "quantity": rng.range(1, 3),
                "priceTotal": (rng.range(100, 30_000) as f64) / 100.0,
            })
        })
        .collect();
    let mut e = json!({
        "_id": format!("{profile_id}-e{i}"),
        "timestamp": timestamp,
        "eventType": event_type,
        "web": {"webPageDetails": {"name": format!("page-{}", rng.below(20)), "isHomePage": rng.chance(20)}},
        "productListItems": items,
    });
    if event_type == "commerce.purchases" {
        e["commerce"] = json!({"order": {
            "purchaseID": format!("{profile_id}-{i}"),
            "priceTotal": (rng.range(500, 100_000) as f64) / 100.0,
            "currencyCode": *rng.pick(&["USD", "EUR", "GBP"]),
        }, "purchases": {"value": 1}});
    } else if event_type == "commerce.productListAdds" {
        e["commerce"] = json!({"productListAdds": {"value": 1}});
    } else if event_type == "commerce.checkouts" {
        e["commerce"] = json!({"checkouts": {"value": 1}});
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data() {
        let opts = GenOptions {
            seed: 7,
            now: 1_780_000_000_000,
            max_events: 40,
        };
        let a = profile(&opts, 12);
        let b = profile(&opts, 12);
        assert_eq!(a.to_record_json(), b.to_record_json());
        assert_ne!(profile(&opts, 13).profile, a.profile);
    }

    #[test]
    fn event_counts_stay_in_range() {
        let opts = GenOptions {
            seed: 1,
            now: 1_780_000_000_000,
            max_events: 10,
        };
        for i in 0..200 {
            let p = profile(&opts, i);
            assert!(p.events.len() <= 10);
            for e in &p.events {
                assert!(e["timestamp"].as_str().is_some());
            }
        }
    }
}
