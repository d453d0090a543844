//! PQL engine throughput: compile time for a mixed suite of expressions, and profile x expression
//! evaluations per second on generated profiles (~30 attributes, 0–200 events each).
//!
//! Groups:
//! - `compile`: parse + compile every expression of the suite once.
//! - `eval/attributes`: attribute predicates over 1,000 profiles (throughput = profiles x exprs).
//! - `eval/events50`: event predicates over profiles with exactly 50 events each.
//! - `eval/mixed`: the whole suite over profiles with 0–200 events.
//! - `cold/attributes10k`, `cold/events50x1000`: the attribute suite over 10,000 profiles and the
//!   event suite over 1,000 profiles of 50 events: data sets far larger than the CPU caches, as a
//!   segment job sees them.
//! - `expr/attr/NN`, `expr/event/NN`: each expression alone (NN = its index in the suite) over the
//!   cold data sets, to find the slow ones.
//!
//! Run: `cargo bench --bench pql`. Criterion reports "elem/s" = evaluations per second on one core.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use segmentation::datagen::{GenOptions, profile};
use segmentation::pql::{self, NoMemberships, Program, Value};

/// 2026-06-01T00:00:00Z
const NOW: i64 = 1_780_272_000_000;

const ATTRIBUTE_EXPRS: &[&str] = &[
    r#"homeAddress.countryCode = "US""#,
    r#"homeAddress.countryCode = "CA" and person.birthYear >= 1985"#,
    r#"person.birthMonth in [3, 6, 9]"#,
    r#"person.name.firstName.startsWith("jo", false)"#,
    r#"personalEmail.address.endsWith(".edu")"#,
    r#"personalEmail.address.matches("^[a-z]+\\.smith")"#,
    r#"homeAddress.city like "%o%""#,
    r#"not (homeAddress.stateProvince = "CA")"#,
    r#"person.favoriteColors.intersects(["red", "blue"])"#,
    r#"orders.sum(price) > 200"#,
    r#"orders.storeId.distinct().count() > 1"#,
    r#"loyalty.points / 100 >= 250 and loyalty.active = true"#,
    r#"person.birthDate.getMonth() = currentMonth()"#,
    r#"loyalty.joinDate occurs before date(2018, 1, 1)"#,
    r#"identityMap.get("Email").count() > 0 and workAddress.isNull()"#,
];

const EVENT_EXPRS: &[&str] = &[
    r#"xEvent[eventType = "commerce.purchases"].count() > 2"#,
    r#"select X from xEvent where X.eventType = "commerce.checkouts" and X.timestamp occurs < 30 days before now"#,
    r#"xEvent[productListItems[SKU = "PS"]]"#,
    r#"exists E from xEvent where E.commerce.order.priceTotal > 500"#,
    r#"(sum X.commerce.order.priceTotal over X from xEvent where X.commerce.order.currencyCode = "USD") > 1000"#,
    r#"xEvent.web.webPageDetails.isHomePage = true"#,
    r#"chain(xEvent, timestamp, [A: WHAT(eventType = "commerce.productListAdds") WHEN(< 90 days before now), B: WHAT(eventType = "commerce.purchases")])"#,
    r#"chain(xEvent, timestamp, [A: WHAT(eventType = "web.webpagedetails.pageViews") WHEN(this year) COUNT(5)])"#,
    r#"xEvent[timestamp occurs last month].count() >= 1"#,
];

fn compile_all(exprs: &[&str]) -> Vec<Program> {
    exprs
        .iter()
        .map(|e| pql::compile_text(e).unwrap_or_else(|err| panic!("{e}: {err}")))
        .collect()
}

struct Decoded {
    profile: Value,
    events: Value,
}

fn decode(n: u64, max_events: u32, exact_events: Option<usize>) -> Vec<Decoded> {
    let opts = GenOptions {
        seed: 42,
        now: NOW,
        max_events,
    };
    (0..n)
        .map(|i| {
            let mut g = profile(&opts, i);
            if let Some(k) = exact_events {
                let base = g.events.clone();
                let mut j = 0;
                while g.events.len() < k && !base.is_empty() {
                    g.events.push(base[j % base.len()].clone());
                    j += 1;
                }
                g.events.truncate(k);
            }
            Decoded {
                profile: Value::from_json(&g.profile),
                events: Value::from_json(&serde_json::Value::Array(g.events)),
            }
        })
        .collect()
}

fn run_suite(programs: &[Program], profiles: &[Decoded]) -> usize {
    let mut hits = 0;
    for p in profiles {
        let ctx = pql::EvalContext {
            profile: &p.profile,
            events: &p.events,
            memberships: &NoMemberships,
            now: NOW,
        };
        for prog in programs {
            hits += usize::from(prog.matches(&ctx));
        }
    }
    hits
}

fn bench_compile(c: &mut Criterion) {
    let all: Vec<&str> = ATTRIBUTE_EXPRS.iter().chain(EVENT_EXPRS).copied().collect();
    let mut g = c.benchmark_group("compile");
    g.throughput(Throughput::Elements(all.len() as u64));
    g.bench_function("suite", |b| {
        b.iter(|| black_box(compile_all(black_box(&all))))
    });
    g.finish();
}

fn bench_eval(c: &mut Criterion) {
    let attrs = compile_all(ATTRIBUTE_EXPRS);
    let events = compile_all(EVENT_EXPRS);
    let mut all = compile_all(ATTRIBUTE_EXPRS);
    all.extend(compile_all(EVENT_EXPRS));

    let plain = decode(1_000, 0, None);
    let fifty = decode(200, 40, Some(50));
    let mixed = decode(300, 200, None);

    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements((plain.len() * attrs.len()) as u64));
    g.bench_function("attributes", |b| {
        b.iter(|| black_box(run_suite(&attrs, &plain)))
    });
    g.throughput(Throughput::Elements((fifty.len() * events.len()) as u64));
    g.bench_function("events50", |b| {
        b.iter(|| black_box(run_suite(&events, &fifty)))
    });
    g.throughput(Throughput::Elements((mixed.len() * all.len()) as u64));
    g.bench_function("mixed", |b| b.iter(|| black_box(run_suite(&all, &mixed))));
    g.finish();
}

fn bench_cold(c: &mut Criterion) {
    let attrs = compile_all(ATTRIBUTE_EXPRS);
    let events = compile_all(EVENT_EXPRS);
    let plain = decode(10_000, 0, None);
    let fifty = decode(1_000, 40, Some(50));

    let mut g = c.benchmark_group("cold");
    g.throughput(Throughput::Elements((plain.len() * attrs.len()) as u64));
    g.bench_function("attributes10k", |b| {
        b.iter(|| black_box(run_suite(&attrs, &plain)))
    });
    g.throughput(Throughput::Elements((fifty.len() * events.len()) as u64));
    g.bench_function("events50x1000", |b| {
        b.iter(|| black_box(run_suite(&events, &fifty)))
    });
    g.finish();

    let mut g = c.benchmark_group("expr");
    for (kind, progs, data) in [("attr", &attrs, &plain), ("event", &events, &fifty)] {
        g.throughput(Throughput::Elements(data.len() as u64));
        for (i, prog) in progs.iter().enumerate() {
            let one = std::slice::from_ref(prog);
            g.bench_function(format!("{kind}/{i:02}"), |b| {
                b.iter(|| black_box(run_suite(one, data)))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench_compile, bench_eval, bench_cold);
criterion_main!(benches);
