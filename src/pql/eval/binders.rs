//! Binders: `select`, `exists`/`some`, `forall`/`all`, `none`, `one`, plus filter brackets and
//! `let` (which live in `eval::mod`).
//!
//! `V1 from D1 where C1, V2 from D2 where C2, ...` enumerates binding tuples: each variable
//! ranges over the items of its domain (a later domain and condition see earlier variables), and
//! a tuple counts when every condition holds. A missing domain ranges over nothing (D6.4).
//!
//! * `select` is the array of matching tuples: the items themselves for one variable, objects
//!   `{V1: item1, V2: item2}` for several. In boolean position it is "some tuple matches".
//! * `exists` = `some` = `select` in boolean position (D3.6); `none` is its negation and `one`
//!   requires exactly one matching tuple.
//! * `forall V1 from D1 where C1, V2 from D2 where C2` = every V1 in D1 satisfies C1 and, for it,
//!   every V2 in D2 satisfies C2; vacuously true (D3.6).

use std::sync::Arc;

use super::{Frame, Node, Val, for_each_item, test};
use crate::pql::ast::BinderKind;
use crate::pql::context::EvalContext;
use crate::pql::value::{Map, Value};

/// `name from domain [where cond]`, the variable in `slot`.
#[derive(Debug)]
pub(crate) struct Decl {
    pub(crate) name: Arc<str>,
    pub(crate) slot: u32,
    pub(crate) domain: Node,
    pub(crate) cond: Option<Node>,
}

#[derive(Debug)]
pub(crate) struct BinderNode {
    pub(crate) kind: BinderKind,
    pub(crate) decls: Box<[Decl]>,
}

/// Enumerates the matching tuples, calling `on_tuple` with the variables bound; stops (and
/// returns false) when it returns false.
pub(crate) fn search<'a>(
    decls: &'a [Decl],
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
    on_tuple: &mut dyn FnMut(&mut Frame<'a>) -> bool,
) -> bool {
    let Some((d, rest)) = decls.split_first() else {
        return on_tuple(fr);
    };
    for_each_item(&d.domain, cx, fr, &mut |item, fr| {
        fr.set(d.slot, item);
        if d.cond.as_ref().is_none_or(|c| test(c, cx, fr)) {
            search(rest, cx, fr, on_tuple)
        } else {
            true
        }
    })
}

fn forall<'a>(decls: &'a [Decl], cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    let Some((d, rest)) = decls.split_first() else {
        return true;
    };
    for_each_item(&d.domain, cx, fr, &mut |item, fr| {
        fr.set(d.slot, item);
        d.cond.as_ref().is_none_or(|c| test(c, cx, fr)) && forall(rest, cx, fr)
    })
}

fn some<'a>(decls: &'a [Decl], cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    !search(decls, cx, fr, &mut |_| false)
}

pub(crate) fn test_binder<'a>(b: &'a BinderNode, cx: &EvalContext<'a>, fr: &mut Frame<'a>) -> bool {
    match b.kind {
        BinderKind::Select | BinderKind::Exists => some(&b.decls, cx, fr),
        BinderKind::None => !some(&b.decls, cx, fr),
        BinderKind::Forall => forall(&b.decls, cx, fr),
        BinderKind::One => {
            let mut n = 0;
            search(&b.decls, cx, fr, &mut |_| {
                n += 1;
                n < 2
            });
            n == 1
        }
    }
}

pub(crate) fn eval_binder<'a>(
    b: &'a BinderNode,
    cx: &EvalContext<'a>,
    fr: &mut Frame<'a>,
) -> Val<'a> {
    if b.kind != BinderKind::Select {
        return Val::bool(test_binder(b, cx, fr));
    }
    let mut out = Vec::new();
    search(&b.decls, cx, fr, &mut |fr| {
        let tuple = match &*b.decls {
            [only] => fr.get(only.slot).clone().into_value(),
            decls => {
                let mut m = Map::default();
                for d in decls {
                    m.insert(d.name.clone(), fr.get(d.slot).clone().into_value());
                }
                Value::object(m)
            }
        };
        out.push(tuple);
        true
    });
    Val::Own(Value::array(out))
}

#[cfg(test)]
mod tests {
    use crate::pql::eval::testing::{check, check_value, eval_json, profile_with_events};
    use serde_json::json;

    fn d() -> crate::pql::eval::testing::Data {
        profile_with_events(
            json!({
                "person": {"gender": "female"},
                "integerArray": [1, -2, 3],
                "homeAddress": {"stateOrProvince": "CA"},
                "_salesvelocity": {"individualScoring": [
                    {"core": {"category": "Retail", "propensityScore": 0.8}},
                    {"core": {"category": "Travel", "propensityScore": 0.3}}
                ]},
                "offer": {"characteristics": {"propensityType": "travel"}, "rank": {"priority": 5}}
            }),
            json!([
                {"id": "e1", "type": "FLIGHT", "timestamp": "2024-06-01T10:00:00Z",
                 "commerce": {"item": {"price": 60}, "order": {"priceTotal": 1200, "currencyCode": "USD"}},
                 "productListItems": [{"SKU": "PS"}, {"SKU": "AI"}],
                 "metrics": {"commerce": {"abandons": {"value": 1}}},
                 "_experience": {"analytics": {"endUser": {"firstWeb": {"webPageDetails": {"isHomePage": true}}}}}},
                {"id": "e2", "type": "FLIGHT", "timestamp": "2024-06-02T09:00:00Z",
                 "commerce": {"item": {"price": 70}},
                 "productListItems": [{"SKU": "XD"}],
                 "metrics": {"commerce": {"abandons": {"value": 2}}}},
                {"id": "e3", "type": "LOST_BAG", "timestamp": "2024-06-10T10:00:00Z",
                 "commerce": {"item": {"price": 10}}}
            ]),
        )
    }

    #[test]
    fn select_values_and_truthiness() {
        let d = d();
        assert_eq!(
            eval_json(&d, "(select X from xEvent where X.type = \"FLIGHT\").id"),
            json!(["e1", "e2"])
        );
        check(
            &d,
            "(select X from xEvent where X.type = \"FLIGHT\").count() > 1 and (select X from xEvent where X.type = \"LOST_BAG\").count() > 0",
            true,
        );
        check(&d, "select X from xEvent where X.type = \"CRUISE\"", false);
        check(
            &d,
            "select var1 from xEvent where var1._experience.analytics.endUser.firstWeb.webPageDetails.isHomePage = true",
            true,
        );
        check(
            &d,
            "select var1 from xEvent where var1._experience.analytics.endUser.firstWeb.webPageDetails.isHomePage = false",
            false,
        );
        check(&d, "select X from xEvent where X.commerce.order", true);
        assert_eq!(
            eval_json(&d, "select X from integerArray where X > 0"),
            json!([1, 3])
        );
        assert_eq!(
            eval_json(
                &d,
                "(select A from xEvent where A.type = \"FLIGHT\", B from A.productListItems).count()"
            ),
            json!(3)
        );
        check_value(
            &d,
            "select A from xEvent where A.id = \"e2\", B from A.productListItems",
            json!([{"A": d.events_json()[1].clone(), "B": {"SKU": "XD"}}]),
        );
    }

    #[test]
    fn exists_some_forall_none_one() {
        let d = d();
        check(
            &d,
            "exists E from xEvent where (E.commerce.item.price > 50), I from E.productListItems where I.SKU = \"PS\"",
            true,
        );
        check(
            &d,
            "exists E from xEvent : E.commerce.item.price > 100",
            false,
        );
        check(
            &d,
            "some E from xEvent where E.commerce.item.price > 65",
            true,
        );
        check(
            &d,
            "forall E from xEvent where E.commerce.item.price > 5",
            true,
        );
        check(
            &d,
            "forall E from xEvent where (E.commerce.item.price > 50), I from E.productListItems where I.SKU = \"PS\"",
            false,
        );
        check(
            &d,
            "forall E from xEvent where E.type = \"FLIGHT\", I from E.productListItems where I.SKU != \"\"",
            false,
        );
        check(
            &d,
            "all E from xEvent[type = \"FLIGHT\"] where E.commerce.item.price > 50, I from E.productListItems where I.SKU.isNotNull()",
            true,
        );
        check(&d, "forall E from missing where E.x = 1", true);
        check(&d, "exists E from missing", false);
        check(&d, "none E from xEvent where E.type = \"CRUISE\"", true);
        check(&d, "one E from xEvent where E.type = \"LOST_BAG\"", true);
        check(&d, "one E from xEvent where E.type = \"FLIGHT\"", false);
    }

    #[test]
    fn multi_variable_selects_see_earlier_variables() {
        let d = d();
        check(
            &d,
            "select A1 from xEvent where A1.metrics.commerce.abandons.value > 0, A2 from xEvent where A2.metrics.commerce.abandons.value > 0 and A1.id != A2.id and A1.timestamp occurs < 2 days before A2.timestamp",
            true,
        );
        check(
            &d,
            "select A1 from xEvent where A1.metrics.commerce.abandons.value > 0, A2 from xEvent where A2.metrics.commerce.abandons.value > 0 and A1.id != A2.id and A1.timestamp occurs < 20 hours before A2.timestamp",
            false,
        );
        check(
            &d,
            "select PV from xEvent where PV.metrics.commerce.abandons.value > 0, Item from PV.productListItems where Item.SKU = \"PS\"",
            true,
        );
        check(
            &d,
            "select X from xEvent where X.timestamp occurs before today and (select I from X.productListItems where I.SKU = \"PS\")",
            true,
        );
    }

    #[test]
    fn binder_conditions_resolve_bare_names_on_the_profile() {
        let d = d();
        check(
            &d,
            "homeAddress.stateOrProvince = \"CA\" AND (some x FROM xEvent WHERE x.commerce.order.priceTotal > 1000 AND x.commerce.order.currencyCode = \"USD\")",
            true,
        );
        check(
            &d,
            "some x from xEvent where person.gender = \"female\" and x.type = \"LOST_BAG\"",
            true,
        );
        check(
            &d,
            "some x from xEvent where commerce.order.priceTotal > 1000",
            false,
        );
    }

    #[test]
    fn let_and_head_of_select() {
        let d = d();
        assert_eq!(
            eval_json(
                &d,
                "let score = (select S from _salesvelocity.individualScoring where S.core.category.equals(offer.characteristics.get(\"propensityType\"), false)).head().core.propensityScore in if(score.isNotNull(), score, offer.rank.priority)"
            ),
            json!(0.3)
        );
        assert_eq!(
            eval_json(
                &d,
                "let score = (select S from _salesvelocity.individualScoring where S.core.category = \"Food\").head().core.propensityScore in if(score.isNotNull(), score, offer.rank.priority)"
            ),
            json!(5)
        );
        assert_eq!(eval_json(&d, "let a = 2, b = a * 3 in b + 1"), json!(7));
    }

    #[test]
    fn filter_brackets_and_up_references() {
        let d = d();
        check(&d, "xEvent[productListItems[SKU=\"PS\"]]", true);
        check(&d, "xEvent[productListItems[SKU=\"ZZ\"]]", false);
        assert_eq!(
            eval_json(&d, "xEvent[productListItems[SKU=\"PS\"]].id"),
            json!(["e1"])
        );
        assert_eq!(
            eval_json(
                &d,
                "xEvent[productListItems[SKU=\"ZZ\" or ^^.person.gender=\"female\"]].id"
            ),
            json!(["e1", "e2"])
        );
        assert_eq!(
            eval_json(
                &d,
                "xEvent[productListItems[SKU=\"ZZ\" or ^^person.gender=\"male\"]].id"
            ),
            json!([])
        );
        assert_eq!(
            eval_json(
                &d,
                "xEvent[productListItems[^.type = \"FLIGHT\" and SKU != \"PS\"]].id"
            ),
            json!(["e1", "e2"])
        );
        assert_eq!(eval_json(&d, "xEvent[type = \"FLIGHT\"].count()"), json!(2));
        assert_eq!(
            eval_json(
                &d,
                "xEvent[this.type = \"FLIGHT\"][commerce.item.price > 65].id"
            ),
            json!(["e2"])
        );
        assert_eq!(eval_json(&d, "integerArray[this > 0]"), json!([1, 3]));
    }
}
