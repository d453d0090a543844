//! The demo sandbox: `serve --demo` fills one documented tenant ([`DEMO_ORG`], sandbox
//! [`DEMO_SANDBOX`]) with generated people, their experience events and a handful of segment
//! definitions, so a newcomer can query something the moment the service is up.
//!
//! The people come from [`crate::datagen`], which is deterministic: the same seed gives the same
//! people and the same identities on every machine, so the README can name one
//! ([`example_email`]). Event times are drawn relative to the load instant, so `occurs ... before
//! now` windows find something whenever the demo is started. Everything goes in through the
//! domain services, the same path a gRPC or REST client's records take (validation, identity
//! stitching, merge rules), never straight into the store.
//!
//! Loading is idempotent. When every demo definition already exists in the tenant, the loader
//! writes nothing, so restarting with `--demo` duplicates nothing. Definitions are created last,
//! so their presence means the data is in. A load cut short is completed by the next one:
//! profile records are upserts onto the same identities, events are deduplicated on `_id`, and
//! only the missing definitions are created.

use std::collections::HashMap;
use std::net::SocketAddr;

use serde_json::{Value as Json, json};

use crate::context::{Principal, RequestContext, Tenant};
use crate::datagen::{self, GenOptions};
use crate::domain::{
    DefinitionInput, DefinitionListQuery, DefinitionService, ExpressionInput, ProfileService,
    RecordResult, RecordStatus,
};
use crate::error::Error;

/// The demo tenant's organisation (`x-gw-ims-org-id`).
pub const DEMO_ORG: &str = "DEMO@AdobeOrg";
/// The demo tenant's sandbox (`x-sandbox-name`; `prod` is also the default when it is absent).
pub const DEMO_SANDBOX: &str = "prod";
/// How many people the demo loads.
pub const DEMO_PROFILES: u64 = 3_000;

/// The generator seed: fixed, so identities are the same on every machine and every start.
const SEED: u64 = 2024;
/// Events per person are drawn from `0..=MAX_EVENTS`, skewed towards few (about 5 on average).
const MAX_EVENTS: u32 = 20;
/// Records per ingestion call (the domain accepts up to 1000).
const BATCH: usize = 500;
/// The request id of the loader's domain calls, so its log lines are easy to find.
const REQUEST_ID: &str = "demo-loader";

/// One demo definition. `{ref}` in `pql` stands for the id of the definition named in
/// `refers_to`, which comes earlier in [`DEFINITIONS`].
#[derive(Debug, Clone, Copy)]
pub struct DemoDefinition {
    pub name: &'static str,
    pub description: &'static str,
    pub pql: &'static str,
    pub refers_to: Option<&'static str>,
}

/// The demo definitions, in creation order; between them they show attribute comparisons,
/// string and array functions, an aggregate over events, `occurs`, `chain` and `inSegment`.
pub const DEFINITIONS: &[DemoDefinition] = &[
    DemoDefinition {
        name: "Gold and platinum members",
        description: "Active loyalty members in the two top tiers (attributes, in).",
        pql: r#"loyalty.tier in ["gold", "platinum"] and loyalty.active = true"#,
        refers_to: None,
    },
    DemoDefinition {
        name: "Gmail users",
        description: "People whose personal email is at gmail.com (a string function).",
        pql: r#"personalEmail.address.endsWith("@gmail.com", false)"#,
        refers_to: None,
    },
    DemoDefinition {
        name: "Likes red or blue",
        description: "People with red or blue among their favourite colours (an array function).",
        pql: r#"person.favoriteColors.intersects(["red", "blue"])"#,
        refers_to: None,
    },
    DemoDefinition {
        name: "Big spenders",
        description: "Purchases adding up to more than 1000 (an aggregate over events).",
        pql: r#"xEvent[eventType = "commerce.purchases"].sum(commerce.order.priceTotal) > 1000"#,
        refers_to: None,
    },
    DemoDefinition {
        name: "Recent purchasers",
        description: "A purchase in the last 30 days (occurs, relative to now).",
        pql: r#"xEvent[eventType = "commerce.purchases" and timestamp occurs <= 30 days before now]"#,
        refers_to: None,
    },
    DemoDefinition {
        name: "Cart add then purchase",
        description: "Added to a cart, then purchased in the last 90 days (a chain of events).",
        pql: r#"chain(xEvent, timestamp, [A: WHAT(eventType = "commerce.productListAdds"), B: WHAT(eventType = "commerce.purchases") WHEN(<= 90 days before now)])"#,
        refers_to: None,
    },
    DemoDefinition {
        name: "North American top members",
        description: "Gold and platinum members living in the US, Canada or Mexico (inSegment).",
        pql: r#"inSegment("{ref}") and homeAddress.countryCode in ["US", "CA", "MX"]"#,
        refers_to: Some("Gold and platinum members"),
    },
];

/// What to load.
#[derive(Debug, Clone, Copy)]
pub struct DemoOptions {
    pub profiles: u64,
    /// The instant events are drawn back from (epoch ms): the load time.
    pub now_ms: i64,
}

impl DemoOptions {
    /// [`DEMO_PROFILES`] people with events up to now.
    pub fn now() -> DemoOptions {
        DemoOptions {
            profiles: DEMO_PROFILES,
            now_ms: chrono::Utc::now().timestamp_millis(),
        }
    }

    fn generator(&self) -> GenOptions {
        GenOptions {
            seed: SEED,
            now: self.now_ms,
            max_events: MAX_EVENTS,
        }
    }
}

/// Outcomes of the records of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordCounts {
    pub created: u64,
    pub updated: u64,
    pub duplicate: u64,
}

/// What a load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    /// True when the demo definitions were already there and nothing was written.
    pub already_loaded: bool,
    pub profiles: RecordCounts,
    pub events: RecordCounts,
    /// `(name, id)` of every demo definition, in [`DEFINITIONS`] order.
    pub definitions: Vec<(String, String)>,
}

/// The demo tenant.
pub fn tenant() -> Tenant {
    Tenant::new(DEMO_ORG, DEMO_SANDBOX)
}

fn context() -> RequestContext {
    RequestContext::new(
        tenant(),
        Principal::Client {
            client_id: "segmentation-demo".into(),
            subject: REQUEST_ID.into(),
        },
        REQUEST_ID,
    )
}

/// Loads the demo sandbox unless its definitions already exist (see the module doc).
pub async fn load(
    profiles: &ProfileService,
    definitions: &DefinitionService,
    options: &DemoOptions,
) -> Result<DemoReport, Error> {
    let ctx = context();
    let mut existing = existing_demo_definitions(definitions, &ctx).await?;
    if DEFINITIONS.iter().all(|d| existing.contains_key(d.name)) {
        return Ok(DemoReport {
            already_loaded: true,
            profiles: RecordCounts::default(),
            events: RecordCounts::default(),
            definitions: in_order(&existing),
        });
    }
    tracing::info!(
        profiles = options.profiles,
        org = DEMO_ORG,
        sandbox = DEMO_SANDBOX,
        "loading the demo sandbox"
    );
    let (profile_counts, event_counts) = ingest_people(profiles, &ctx, options).await?;
    create_missing_definitions(definitions, &ctx, &mut existing).await?;
    Ok(DemoReport {
        already_loaded: false,
        profiles: profile_counts,
        events: event_counts,
        definitions: in_order(&existing),
    })
}

/// Demo definitions already in the tenant, by name.
async fn existing_demo_definitions(
    definitions: &DefinitionService,
    ctx: &RequestContext,
) -> Result<HashMap<String, String>, Error> {
    let mut found = HashMap::new();
    let mut start = 0;
    loop {
        let query = DefinitionListQuery {
            start: Some(start),
            limit: Some(1000),
            ..DefinitionListQuery::default()
        };
        let list = definitions.list(ctx, query).await?;
        for d in &list.page.items {
            if DEFINITIONS.iter().any(|demo| demo.name == d.name) {
                found.insert(d.name.clone(), d.id.clone());
            }
        }
        match list.page.next_start {
            Some(next) => start = next,
            None => return Ok(found),
        }
    }
}

fn in_order(by_name: &HashMap<String, String>) -> Vec<(String, String)> {
    DEFINITIONS
        .iter()
        .filter_map(|d| {
            by_name
                .get(d.name)
                .map(|id| (d.name.to_owned(), id.clone()))
        })
        .collect()
}

/// Upserts every person, then ingests their events, in batches.
async fn ingest_people(
    profiles: &ProfileService,
    ctx: &RequestContext,
    options: &DemoOptions,
) -> Result<(RecordCounts, RecordCounts), Error> {
    let generator = options.generator();
    let mut profile_counts = RecordCounts::default();
    let mut event_counts = RecordCounts::default();
    let mut start = 0;
    while start < options.profiles {
        let end = (start + BATCH as u64).min(options.profiles);
        let people: Vec<DemoPerson> = (start..end).map(|i| person(&generator, i)).collect();
        let records = people.iter().map(|p| p.profile.to_string()).collect();
        tally(
            &mut profile_counts,
            profiles.upsert_profiles(ctx, records).await?,
        )?;
        let events: Vec<String> = people
            .iter()
            .flat_map(|p| p.events.iter().map(Json::to_string))
            .collect();
        for batch in events.chunks(BATCH) {
            let results = profiles.ingest_events(ctx, batch.to_vec()).await?;
            tally(&mut event_counts, results)?;
        }
        start = end;
    }
    Ok((profile_counts, event_counts))
}

/// Counts the outcomes; a refused record is a bug in the generator, so it stops the load.
fn tally(counts: &mut RecordCounts, results: Vec<RecordResult>) -> Result<(), Error> {
    for result in results {
        match result.outcome {
            Ok(outcome) => match outcome.status {
                RecordStatus::Created => counts.created += 1,
                RecordStatus::Updated => counts.updated += 1,
                RecordStatus::Duplicate => counts.duplicate += 1,
            },
            Err(e) => {
                return Err(Error::internal(format!(
                    "a generated demo record was refused: {e}"
                )));
            }
        }
    }
    Ok(())
}

async fn create_missing_definitions(
    definitions: &DefinitionService,
    ctx: &RequestContext,
    existing: &mut HashMap<String, String>,
) -> Result<(), Error> {
    for demo in DEFINITIONS {
        if existing.contains_key(demo.name) {
            continue;
        }
        let input = definition_input(demo, existing)?;
        let created = definitions.create(ctx, input).await?;
        existing.insert(created.name, created.id);
    }
    Ok(())
}

/// The create request of a demo definition, its `{ref}` replaced by the referenced id.
pub fn definition_input(
    demo: &DemoDefinition,
    ids_by_name: &HashMap<String, String>,
) -> Result<DefinitionInput, Error> {
    let pql = match demo.refers_to {
        Some(name) => {
            let id = ids_by_name.get(name).ok_or_else(|| {
                Error::internal(format!("demo definition {name:?} must be created first"))
            })?;
            demo.pql.replace("{ref}", id)
        }
        None => demo.pql.to_owned(),
    };
    Ok(DefinitionInput {
        name: demo.name.to_owned(),
        description: Some(demo.description.to_owned()),
        expression: ExpressionInput {
            r#type: "PQL".into(),
            format: "pql/text".into(),
            value: pql,
        },
        ..DefinitionInput::default()
    })
}

/// One generated person as the loader sends them: an XDM profile record and events that carry
/// the person's ECID, so ingestion stitches them to the profile.
#[derive(Debug, Clone)]
pub struct DemoPerson {
    pub profile: Json,
    pub events: Vec<Json>,
}

/// Person number `index`. The email is made unique with the index (the generator's may repeat,
/// and a shared identity would merge two people into one profile).
pub fn person(generator: &GenOptions, index: u64) -> DemoPerson {
    let generated = datagen::profile(generator, index);
    let mut profile = generated.profile;
    let email = unique_email(&profile, index);
    profile["personalEmail"]["address"] = json!(email);
    profile["identityMap"]["Email"] = json!([{"id": email, "authenticatedState": "authenticated"}]);
    let ecid = profile["identityMap"]["ECID"].clone();
    let events = generated
        .events
        .into_iter()
        .map(|mut event| {
            event["identityMap"] = json!({ "ECID": ecid });
            event
        })
        .collect();
    DemoPerson { profile, events }
}

fn unique_email(profile: &Json, index: u64) -> String {
    let name = &profile["person"]["name"];
    let part = |key: &str| name[key].as_str().unwrap_or("someone").to_lowercase();
    let domain = profile["personalEmail"]["address"]
        .as_str()
        .and_then(|a| a.split_once('@'))
        .map_or("example.com", |(_, d)| d);
    format!(
        "{}.{}.{index}@{domain}",
        part("firstName"),
        part("lastName")
    )
}

/// The Email identity of demo person `index` (the same on every machine), for examples.
pub fn example_email(index: u64) -> String {
    let generator = DemoOptions::now().generator();
    unique_email(&person(&generator, index).profile, index)
}

impl DemoReport {
    /// Logs what is loaded and how to look at it, once the listeners are bound.
    pub fn log_ready(&self, grpc: SocketAddr, rest: Option<SocketAddr>) {
        let what = if self.already_loaded {
            "demo sandbox already loaded; nothing written".to_owned()
        } else {
            format!(
                "demo sandbox loaded: {} profiles ({} new), {} events ({} new), {} segment definitions",
                self.profiles.created + self.profiles.updated,
                self.profiles.created,
                self.events.created + self.events.updated + self.events.duplicate,
                self.events.created + self.events.updated,
                self.definitions.len(),
            )
        };
        let rest_hint = rest.map_or(String::new(), |addr| {
            format!(
                "; curl -H 'x-gw-ims-org-id: {DEMO_ORG}' -H 'x-sandbox-name: {DEMO_SANDBOX}' \
                 http://{addr}/segment/definitions"
            )
        });
        tracing::info!(
            org = DEMO_ORG,
            sandbox = DEMO_SANDBOX,
            example_identity = %format!("Email {}", example_email(0)),
            "{what}. Query it with the headers x-gw-ims-org-id: {DEMO_ORG} and x-sandbox-name: \
             {DEMO_SANDBOX} (dev mode), e.g. grpcurl -plaintext -H 'x-gw-ims-org-id: {DEMO_ORG}' \
             {grpc} segmentation.v1.SegmentDefinitionService/ListSegmentDefinitions{rest_hint}"
        );
    }
}

#[cfg(test)]
#[path = "demo_tests.rs"]
mod tests;
